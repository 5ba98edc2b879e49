use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web: 8080;
        api: 3000
    }
    #[clusters(prod)] web -> api:3000;
}

fn main() {}
