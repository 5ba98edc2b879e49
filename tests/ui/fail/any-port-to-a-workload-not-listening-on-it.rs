use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web: 8080;
        batch
    }

    // `web` listens on 8080 only; `any` names every port of every protocol.
    batch -> web:any;
}

fn main() {}
