// Semantic errors accumulate: every mistake of the block is reported at once.
use zero_trust::zero_trust;

zero_trust! {
    namespace ProdApi {
        main_api: 3000;
        worker ["app" = "worker", "app" = "jobs"]: 0
    }
    cidr office = "10.1.2.3/8";

    main_api -> auth_servce:8080;
    main_api -> main_api:3001;
    office -> office:443;
}

fn main() {}
