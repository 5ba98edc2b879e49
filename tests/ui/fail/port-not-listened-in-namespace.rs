use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        main_api: 3000
    }
    namespace prod_storage {
        minio: 9000;
        console: 9001
    }

    main_api -> prod_storage:9002;
}

fn main() {}
