use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 3000;
        POLICY: 8080
    }
}

fn main() {}
