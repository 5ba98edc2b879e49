use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web
    }
    cidr internet = "0.0.0.0/0" except "10.0.0.0/8"; "::/0"; "0.0.0.0/0";

    web -> internet:443;
}

fn main() {}
