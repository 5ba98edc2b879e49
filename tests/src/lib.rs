//! The workspace's end-to-end tests live in this package's test targets: the macro's
//! compile errors (`ui.rs`), the YAML that policies produce (`emit.rs`), the apply
//! script (`apply_script.rs`) and the flows a set of policies allows.

/// The guide's YAML as `cargo xtask import` writes it (its custom `name` namespace label
/// read as namespaces selected by that label); compiled here so that `tests/import.rs`
/// shows the written code compiles and emits what was proven.
pub mod imported_guide_as_written;

/// The guide's YAML as `cargo xtask import --namespace-label name` writes it.
pub mod imported_guide;
