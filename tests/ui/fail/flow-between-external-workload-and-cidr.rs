use zero_trust::zero_trust;

zero_trust! {
    external namespace ingress_nginx {
        controller ["app.kubernetes.io/name" = "ingress-nginx"]
    }
    cidr public_internet = "0.0.0.0/0";

    controller -> public_internet:443;
}

fn main() {}
