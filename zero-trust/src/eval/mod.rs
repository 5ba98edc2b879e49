//! An evaluator of `networking.k8s.io/v1` NetworkPolicy semantics, written from the
//! Kubernetes documentation and API types, independently of the emitter, so that it can
//! check what the emitter writes.
//!
//! Sources: <https://kubernetes.io/docs/concepts/services-networking/network-policies/>
//! ("the docs"), `k8s.io/api/networking/v1/types.go` and
//! `pkg/apis/networking/validation/validation.go`. Each rule is written once, in the
//! module that owns the concept, next to the sentence it follows:
//! - [`load`]: the one loader of YAML and JSON, which understands or reports every object;
//! - [`selector`]: label selectors (matchLabels AND matchExpressions; the operators);
//! - [`policy`]: which pods a policy selects, `policyTypes` defaulting, peers (podSelector,
//!   namespaceSelector, both ANDed, ipBlock with except), empty vs absent `from`/`to`/`ports`,
//!   ports (number, `endPort` range, protocol defaulting to TCP, named ports);
//! - [`analysis`]: isolation per direction, additive rules, and a connection needing both the
//!   source's egress and the destination's ingress;
//! - [`classes`] and [`addresses`]: the equivalence classes that make the answer exact;
//! - [`update`]: a few policies changed in place, for a re-proof of what they touch.
//!
//! Input is validated once, at the border: [`policy::compile`] checks every policy with the
//! API server's rules (`crate::validate`, the one validator) and refuses what they refuse;
//! past that, the evaluator relies on valid input and only interprets it.
//!
//! The answer is exact, not sampled: pods, addresses and ports are reduced to equivalence
//! classes and every pair of classes is decided. A topology pod stands for all pods with its
//! labels and named ports (all replicas of a workload); "another pod" of a namespace and "a
//! pod of a namespace nobody names" stand for pods the topology does not list, taken to have
//! no labels and no named ports.
//!
//! Outside the model, as the docs leave them to the implementation or exempt them: traffic
//! to and from the pod's own node (always allowed), a pod talking to itself, host-network
//! pods, and ipBlocks matching pod IPs (here an ipBlock matches only external addresses).

pub mod addresses;
pub mod analysis;
pub mod classes;
pub mod explain;
pub mod load;
pub mod pairs;
pub mod policy;
pub mod ports;
pub mod selector;
pub mod topology;
pub mod update;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod scenarios;

pub use addresses::{AddressClass, AddressRange, IpBlock};
pub use analysis::{Analysis, PolicyInfo, Side, Verdict};
pub use classes::{ClassId, EndpointClass};
pub use explain::{AllowingRule, Explanation, PolicyRef, SideExplanation};
pub use load::{LoadError, add_loaded, load_dir, load_file, load_str};
pub use pairs::{PairVerdict, format_pairs};
pub use policy::{CompileError, CompiledPolicy, Direction};
pub use ports::PortSet;
pub use selector::{Labels, Selector};
pub use topology::{
    Inputs, LoadedPolicy, NamedPort, NamespaceInfo, PodInfo, PodSource, Provenance, SKIPPED_LISTED,
    Skipped, Topology,
};
pub use update::UpdateRefused;
