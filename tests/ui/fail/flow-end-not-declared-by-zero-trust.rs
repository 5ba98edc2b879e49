use zero_trust::zero_trust;

mod other {
    pub const BILLING: u16 = 8080;
}

zero_trust! {
    namespace prod_api {
        main_api: 3000
    }

    main_api -> other::BILLING:8080;
}

fn main() {}
