use zero_trust::zero_trust;

// After a syntax error the parser goes on at the next item, so both are reported.
zero_trust! {
    namespace prod_api { main_api: 3000; auth_service: 8080 }
    main_api -> auth_service:80x;
    main_api -> auth_service 8080;
}

fn main() {}
