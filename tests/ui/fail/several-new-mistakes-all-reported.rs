// The mistakes of the set-based selectors and `any` accumulate with the block's others.
use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web ["tier" in [], "canary", !"canary"]: 8080;
        batch: any/tcp, 80
    }

    batch -> web:any;
    batch -> wbe:80;
}

fn main() {}
