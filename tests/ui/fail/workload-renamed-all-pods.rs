use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        everything as "all-pods": 3000
    }
}

fn main() {}
