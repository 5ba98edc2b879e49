//! The workspace's end-to-end tests live in this package's test targets: the macro's
//! compile errors (`ui.rs`), the YAML that policies produce (`emit.rs`), the apply
//! script (`apply_script.rs`) and the flows a set of policies allows.
