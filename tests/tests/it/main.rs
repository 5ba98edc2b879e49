//! The end-to-end tests, one module per subject, in one test binary: linked once rather
//! than once per subject, and run side by side on the harness's threads (the rollout tests'
//! API servers start while the other tests run). A new subject is a file here and a `mod`
//! line below. `tests/tests/load_memory.rs` is a binary of its own, as it counts every
//! allocation of its process.

mod support;

mod apply_script;
mod clusters;
mod clusters_script;
mod diff;
mod drift;
mod emit;
mod import;
mod import_property;
mod intent_property;
mod language;
mod rollout;
mod rollout_clusters;
mod verify;
mod verify_dir;
mod verify_script;
mod workloads;
