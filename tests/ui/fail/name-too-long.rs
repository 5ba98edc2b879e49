use zero_trust::zero_trust;

zero_trust! {
    namespace prod_api {
        a_workload_whose_name_is_far_too_long_for_kubernetes_to_accept_it: 3000
    }
}

fn main() {}
