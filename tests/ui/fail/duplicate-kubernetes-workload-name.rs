use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 3000;
        api as "main-api": 3001
    }
}

fn main() {}
