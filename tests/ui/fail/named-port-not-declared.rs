use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web: http = 8080, metrics = 9090;
        lb
    }

    lb -> web:htp;
}

fn main() {}
