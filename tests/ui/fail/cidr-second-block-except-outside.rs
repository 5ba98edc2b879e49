use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web
    }
    // Each block's excepts lie inside that block.
    cidr internet = "0.0.0.0/0" except "10.0.0.0/8"; "::/0" except "10.0.0.0/8";

    web -> internet:443;
}

fn main() {}
