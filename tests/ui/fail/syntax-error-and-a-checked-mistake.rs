use zero_trust::zero_trust;

// A syntax error in a flow declares nothing, so the other items are still checked.
zero_trust! {
    namespace prod_api { main_api: 3000; auth_service: 8080 }
    main_api -> auth_service: ;
    main_api -> auth_service:8081;
}

fn main() {}
