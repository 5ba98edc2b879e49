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

/// rustc quotes the standard library's source where it is installed (the `rust-src`
/// component, which every rust-analyzer user has) and only names the file where it is not,
/// so an expected error that points into the standard library (`$RUST/` once trybuild has
/// normalized it) passes on one of those machines and fails on the other.
#[test]
fn no_expected_error_points_into_the_standard_library() {
    let fail = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fail");
    let mut checked = 0;
    for entry in std::fs::read_dir(&fail).expect("read fail/") {
        let path = entry.expect("read fail/").path();
        if path.extension().is_some_and(|ext| ext == "stderr") {
            let text = std::fs::read_to_string(&path).expect("read a .stderr");
            assert!(
                !text.contains("$RUST/"),
                "{} points into the standard library; make the expansion's error independent of it",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no .stderr in {}", fail.display());
}
