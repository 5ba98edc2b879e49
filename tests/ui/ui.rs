//! Compile-fail and compile-pass cases of the `zero_trust!` macro, run with trybuild.
//!
//! Each `fail/<what-is-wrong>.rs` holds one mistake and its `.stderr` the exact errors
//! rustc prints for it; `pass/*.rs` must compile. After changing a message, refresh the
//! expected output with
//!
//!     TRYBUILD=overwrite cargo test -p zero-trust-ui
//!
//! then read the diff of every `.stderr`: each error must point at the offending token,
//! say what is wrong and how to fix it, and one mistake must give one error. The
//! `.stderr` files depend on the compiler version (see STYLE.md, "Tests").

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("fail/*.rs");
    t.pass("pass/*.rs");
}
