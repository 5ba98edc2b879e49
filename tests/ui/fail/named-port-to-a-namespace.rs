use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web: http = 8080;
        lb
    }

    lb -> shop:http;
}

fn main() {}
