use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api { main_api: 3000 }
    cidr office = "FD00:0::/8";
    main_api -> office:443;
}

fn main() {}
