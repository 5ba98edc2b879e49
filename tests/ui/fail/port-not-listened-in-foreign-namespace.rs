use zero_trust::zero_trust;

mod other {
    use zero_trust::zero_trust;

    zero_trust! {
        namespace prod_storage {
            minio: 9000
        }
    }
}

zero_trust! {
    namespace prod_api {
        main_api: 3000
    }

    main_api -> other::prod_storage:9001;
}

fn main() {}
