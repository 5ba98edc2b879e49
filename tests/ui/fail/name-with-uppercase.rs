use zero_trust::zero_trust;

zero_trust! {
    namespace ProdApi {
        main_api: 3000
    }
}

fn main() {}
