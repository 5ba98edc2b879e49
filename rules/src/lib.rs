//! The Kubernetes rules that zero-trust applies in two places: the `zero_trust!` macro
//! (at compile time, with spans) and the library (when it validates and evaluates YAML).
//! Written once here so the two can never disagree. Also the encoding of a block's flow
//! rows, which the macro writes and its expansion reads (`rows.rs`).

mod cidr;
mod names;
mod ports;
mod rows;

pub use cidr::{
    Cidr, CidrError, parse_cidr, parse_cidr_as_given, parse_except, parse_except_as_given,
};
pub use names::{
    ALL_PODS, CLUSTER_LABEL, DEFAULT_DENY_ALL, MANAGED_BY_LABEL, MANAGED_BY_VALUE,
    NAMESPACE_NAME_LABEL, POLICY_SOURCE_LABEL, REASONS_ANNOTATION, check_dns1123_label,
    check_dns1123_subdomain, check_label_key, check_label_value, check_port_name,
    kubernetes_name_of,
};
pub use ports::{FIRST_PORT, LAST_PORT, PortRange, Protocol, check_port_range, ports_are_checked};
pub use rows::{FLOW_ROW_CELLS, flow_row_cell, push_flow_row};
