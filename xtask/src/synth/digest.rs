//! A digest of a cluster and of everything it emits. Compiled into xtask and, by path,
//! into the example of every synthesized crate, so `cargo xtask bench` can show that the
//! crate and `synthetic_cluster` are the same cluster.

use std::hash::{DefaultHasher, Hash, Hasher};

/// `flows=.. files=.. bytes=.. model=<hash> emitted=<hash>`: the hash of the cluster's
/// `Debug` form (every name, selector, port and flow) and of the emitted files.
pub fn cluster_digest(cluster: &zero_trust::Cluster) -> String {
    let mut model = DefaultHasher::new();
    format!("{cluster:?}").hash(&mut model);
    let emitted = zero_trust::emit::emit(cluster).expect("the cluster renders");
    let mut files = DefaultHasher::new();
    let mut bytes = 0;
    for (name, text) in &emitted.files {
        (name, text).hash(&mut files);
        bytes += text.len();
    }
    format!(
        "flows={} files={} bytes={bytes} model={:016x} emitted={:016x}",
        cluster.flows.len(),
        emitted.files.len(),
        model.finish(),
        files.finish()
    )
}
