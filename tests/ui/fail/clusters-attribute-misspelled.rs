use zero_trust::zero_trust;

zero_trust! {
    clusters staging, prod;
    namespace shop {
        web: 8080;
        api: 3000
    }
    #[cluster(prod)] web -> api:3000;
}

fn main() {}
