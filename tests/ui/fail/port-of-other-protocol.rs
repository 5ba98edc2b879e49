use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 3000;
        dns: 53/tcp
    }

    main_api -> dns:53/udp;
}

fn main() {}
