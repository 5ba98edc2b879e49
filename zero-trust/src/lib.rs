//! zero-trust: Kubernetes NetworkPolicies written as a typed Rust DSL, checked at compile
//! time, lowered to `networking.k8s.io/v1` objects and emitted as YAML.
//!
//! A user depends on this crate alone: it re-exports the [`zero_trust!`] macro, whose
//! expansion names everything through [`__private`].

pub mod cluster;
pub mod model;
pub mod targets;

// What needs k8s-openapi, behind the default feature `kubernetes` (see Cargo.toml).
#[cfg(feature = "kubernetes")]
pub mod diff;
#[cfg(feature = "kubernetes")]
pub mod emit;
#[cfg(feature = "kubernetes")]
pub mod eval;
#[cfg(feature = "kubernetes")]
pub mod import;
#[cfg(feature = "kubernetes")]
pub mod lower;
mod parallel;
#[cfg(feature = "kubernetes")]
pub mod rollout;
#[cfg(feature = "kubernetes")]
pub mod validate;
#[cfg(feature = "kubernetes")]
pub mod verify;
#[cfg(feature = "kubernetes")]
pub mod workloads;
#[cfg(feature = "kubernetes")]
pub mod yaml;

pub use cluster::{Cluster, ClusterError};
pub use model::{
    AddressBlock, CidrBlock, Endpoint, Expression, Flow, Label, Namespace, Operator, Policy,
    Workload,
};
pub use policy_macros::zero_trust;
pub use targets::{ClusterTarget, assemble_clusters};
pub use zero_trust_rules::{FIRST_PORT, LAST_PORT, PortRange, Protocol};

/// What the macro's expansion names; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::model::{
        AddressBlock, CidrBlock, Endpoint, Expression, Flow, Label, Namespace, Operator, Policy,
        PortName, Selector, Workload, expect_managed_end, expect_port, expect_port_at,
        expect_port_name,
    };
    pub use crate::targets::{ClusterLimit, Limited};
    pub use zero_trust_rules::{PortRange, Protocol, flow_row_cell};

    /// What a block declares after a compile error, so that names used elsewhere still
    /// resolve and one mistake gives one error: managed and listening on every port, so
    /// the checks of flows that name them from other files stay quiet. Never part of a
    /// cluster that compiles.
    pub const ERRORED_NAMESPACE: Namespace = Namespace {
        ident: "",
        name: "",
        managed: true,
        ports: EVERY_PORT,
        selector: None,
    };
    pub const ERRORED_WORKLOAD: Workload = Workload {
        ident: "",
        name: "",
        namespace: &ERRORED_NAMESPACE,
        selector: &[],
        expressions: &[],
        ports: EVERY_PORT,
    };
    pub const ERRORED_CIDR: CidrBlock = CidrBlock {
        ident: "",
        blocks: &[],
    };
    const EVERY_PORT: &[PortRange] = &[
        PortRange {
            protocol: Protocol::Tcp,
            first: crate::FIRST_PORT,
            last: crate::LAST_PORT,
        },
        PortRange {
            protocol: Protocol::Udp,
            first: crate::FIRST_PORT,
            last: crate::LAST_PORT,
        },
        PortRange {
            protocol: Protocol::Sctp,
            first: crate::FIRST_PORT,
            last: crate::LAST_PORT,
        },
    ];
    pub const ERRORED_POLICY: Policy = Policy {
        file: "",
        namespaces: &[],
        workloads: &[],
        cidrs: &[],
        flows: &[],
        clusters: &[],
        limits: &[],
    };
}
