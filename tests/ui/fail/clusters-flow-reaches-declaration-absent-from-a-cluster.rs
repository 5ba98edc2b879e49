use zero_trust::zero_trust;

zero_trust! {
    clusters staging, prod;
    namespace shop {
        web: 8080;
        #[clusters(staging)] web_canary: 8080
    }
    // In prod too, where web_canary is not declared.
    web -> web_canary:8080;
}

fn main() {}
