//! API-server validation of a NetworkPolicy, so a policy that `kubectl apply` would refuse
//! is caught before it reaches a cluster.
//!
//! Follows `pkg/apis/networking/validation/validation.go` (`ValidateNetworkPolicy`,
//! `ValidateNetworkPolicySpec`, `ValidateNetworkPolicyPort`, `ValidateNetworkPolicyPeer`,
//! `ValidateIPBlock`), `ValidateLabelSelector` of
//! `k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go`, and `IsValidPortName`
//! of `k8s.io/apimachinery/pkg/util/validation/validation.go`. Names, labels and CIDRs are
//! checked by `zero_trust_rules`, the one place those rules live. It accepts what the API
//! server accepts, since `verify` reads policies written elsewhere: a CIDR with host bits
//! set is read as its network (`net.ParseCIDR`), and `[Ingress, Ingress]` passes (upstream
//! only caps the list at two entries). What zero-trust itself writes is held to more: the
//! macro refuses host bits (`zero_trust_rules::parse_cidr`), and the lowering writes each
//! policy type once.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zero_trust_rules::{
    CidrError, FIRST_PORT, LAST_PORT, Protocol, check_dns1123_label, check_dns1123_subdomain,
    check_label_key, check_label_value, check_port_name, parse_cidr_as_given,
    parse_except_as_given,
};

/// One reason the API server would refuse the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Like `spec.ingress[0].from[1].ipBlock.except[0]`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// The accumulator of this module: every rule adds its error and validation goes on, so
/// one run reports every problem, as the API server does.
trait Add {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>);
}

impl Add for Vec<FieldError> {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// `ValidateNetworkPolicy`: the metadata, then the spec.
pub fn validate_network_policy(policy: &NetworkPolicy) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let metadata = &policy.metadata;
    // `ValidateObjectMeta` with `NameIsDNSSubdomain`: a name (or generateName) is required.
    match (&metadata.name, &metadata.generate_name) {
        (Some(name), _) if !name.is_empty() => {
            if let Err(why) = check_dns1123_subdomain(name) {
                errors.add("metadata.name", format!("`{name}` {why}"));
            }
        }
        (_, Some(prefix)) if !prefix.is_empty() => {}
        _ => errors.add("metadata.name", "name or generateName is required"),
    }
    // A namespaced object's namespace is a DNS-1123 label. Left out, it is filled in from
    // the request (`kubectl apply -n`), so only a written namespace is checked.
    if let Some(namespace) = &metadata.namespace
        && let Err(why) = check_dns1123_label(namespace)
    {
        errors.add("metadata.namespace", format!("`{namespace}` {why}"));
    }
    if let Some(labels) = &metadata.labels {
        validate_labels(labels, "metadata.labels", &mut errors);
    }
    // Validation now runs on every policy the evaluator reads: no copy of the spec.
    if let Some(spec) = &policy.spec {
        errors.extend(validate_network_policy_spec(spec, "spec"));
    }
    errors
}

/// `ValidateNetworkPolicySpec`: the pod selector, every rule's ports and peers, and the
/// policy types.
pub fn validate_network_policy_spec(spec: &NetworkPolicySpec, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(selector) = &spec.pod_selector {
        errors.extend(validate_label_selector(
            selector,
            &format!("{path}.podSelector"),
        ));
    }
    for (i, rule) in spec.ingress.iter().flatten().enumerate() {
        let rule_path = format!("{path}.ingress[{i}]");
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            errors.extend(validate_network_policy_port(
                port,
                &format!("{rule_path}.ports[{j}]"),
            ));
        }
        for (j, peer) in rule.from.iter().flatten().enumerate() {
            errors.extend(validate_network_policy_peer(
                peer,
                &format!("{rule_path}.from[{j}]"),
            ));
        }
    }
    for (i, rule) in spec.egress.iter().flatten().enumerate() {
        let rule_path = format!("{path}.egress[{i}]");
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            errors.extend(validate_network_policy_port(
                port,
                &format!("{rule_path}.ports[{j}]"),
            ));
        }
        for (j, peer) in rule.to.iter().flatten().enumerate() {
            errors.extend(validate_network_policy_peer(
                peer,
                &format!("{rule_path}.to[{j}]"),
            ));
        }
    }
    let types = spec.policy_types.as_deref().unwrap_or_default();
    if types.len() > 2 {
        errors.add(
            format!("{path}.policyTypes"),
            "may not specify more than two policyTypes",
        );
        return errors;
    }
    for (i, policy_type) in types.iter().enumerate() {
        let at = format!("{path}.policyTypes[{i}]");
        if policy_type != "Ingress" && policy_type != "Egress" {
            errors.add(
                at,
                format!("unsupported value `{policy_type}`; supported values: `Ingress`, `Egress`"),
            );
        }
    }
    errors
}

/// `ValidateNetworkPolicyPort`.
pub fn validate_network_policy_port(port: &NetworkPolicyPort, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(protocol) = &port.protocol
        && Protocol::from_k8s(protocol).is_none()
    {
        errors.add(
            format!("{path}.protocol"),
            format!("unsupported value `{protocol}`; supported values: `TCP`, `UDP`, `SCTP`"),
        );
    }
    let valid_port = |n: i32| (i32::from(FIRST_PORT)..=i32::from(LAST_PORT)).contains(&n);
    match (&port.port, port.end_port) {
        (Some(IntOrString::Int(number)), end_port) => {
            if !valid_port(*number) {
                errors.add(
                    format!("{path}.port"),
                    format!("{number} must be between {FIRST_PORT} and {LAST_PORT}, inclusive"),
                );
            }
            if let Some(end) = end_port {
                if end < *number {
                    errors.add(
                        format!("{path}.endPort"),
                        format!("{end} must be greater than or equal to `port` ({number})"),
                    );
                }
                if !valid_port(end) {
                    errors.add(
                        format!("{path}.endPort"),
                        format!("{end} must be between {FIRST_PORT} and {LAST_PORT}, inclusive"),
                    );
                }
            }
        }
        (Some(IntOrString::String(name)), end_port) => {
            if let Some(end) = end_port {
                errors.add(
                    format!("{path}.endPort"),
                    format!("{end} may not be specified when `port` is non-numeric"),
                );
            }
            if let Err(why) = check_port_name(name) {
                errors.add(format!("{path}.port"), format!("`{name}` {why}"));
            }
        }
        (None, Some(end)) => {
            errors.add(
                format!("{path}.endPort"),
                format!("{end} may not be specified when `port` is not specified"),
            );
        }
        (None, None) => {}
    }
    errors
}

/// `ValidateNetworkPolicyPeer`: selectors and ipBlock each valid, at least one of them, and
/// an ipBlock alone.
pub fn validate_network_policy_peer(peer: &NetworkPolicyPeer, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut count = 0;
    if let Some(selector) = &peer.pod_selector {
        count += 1;
        errors.extend(validate_label_selector(
            selector,
            &format!("{path}.podSelector"),
        ));
    }
    if let Some(selector) = &peer.namespace_selector {
        count += 1;
        errors.extend(validate_label_selector(
            selector,
            &format!("{path}.namespaceSelector"),
        ));
    }
    if let Some(block) = &peer.ip_block {
        count += 1;
        errors.extend(validate_ip_block(block, &format!("{path}.ipBlock")));
    }
    if count == 0 {
        errors.add(
            path,
            "must specify a peer: a podSelector, a namespaceSelector or an ipBlock",
        );
    } else if count > 1 && peer.ip_block.is_some() {
        errors.add(
            path,
            "may not specify both ipBlock and another peer; write them as separate peers",
        );
    }
    errors
}

/// `ValidateIPBlock`: `cidr` required and valid; each `except` valid and a strict subset of
/// `cidr` (which also rules out the other address family).
pub fn validate_ip_block(block: &IPBlock, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if block.cidr.is_empty() {
        errors.add(
            format!("{path}.cidr"),
            "required; write a CIDR like `10.0.0.0/8`",
        );
        return errors;
    }
    let cidr = match parse_cidr_as_given(&block.cidr) {
        Ok(cidr) => cidr,
        Err(e) => {
            errors.add(format!("{path}.cidr"), e.to_string());
            return errors;
        }
    };
    for (i, except) in block.except.iter().flatten().enumerate() {
        if let Err(e) = parse_except_as_given(&cidr, except) {
            let e = match e {
                CidrError::ExceptNotSubset { .. } => {
                    e.to_string().replace("an except", "every except")
                }
                other => other.to_string(),
            };
            errors.add(format!("{path}.except[{i}]"), e);
        }
    }
    errors
}

/// `ValidateLabelSelector`: label keys and values valid; `In`/`NotIn` with values,
/// `Exists`/`DoesNotExist` without.
pub fn validate_label_selector(selector: &LabelSelector, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(labels) = &selector.match_labels {
        validate_labels(labels, &format!("{path}.matchLabels"), &mut errors);
    }
    for (i, requirement) in selector.match_expressions.iter().flatten().enumerate() {
        let at = format!("{path}.matchExpressions[{i}]");
        let values = requirement.values.as_deref().unwrap_or_default();
        match requirement.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => {
                errors.add(format!("{at}.values"),
                    "must be specified when `operator` is `In` or `NotIn`",
                );
            }
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                errors.add(format!("{at}.values"),
                    "may not be specified when `operator` is `Exists` or `DoesNotExist`",
                );
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.add(format!("{at}.operator"),
                format!(
                    "`{other}` is not a valid selector operator; use `In`, `NotIn`, `Exists` or `DoesNotExist`"
                ),
            ),
        }
        if let Err(why) = check_label_key(&requirement.key) {
            errors.add(format!("{at}.key"), format!("`{}` {why}", requirement.key));
        }
        for (j, value) in values.iter().enumerate() {
            if let Err(why) = check_label_value(value) {
                errors.add(format!("{at}.values[{j}]"), format!("`{value}` {why}"));
            }
        }
    }
    errors
}

/// `ValidateLabels`: every key a qualified name, every value a label value.
fn validate_labels(labels: &BTreeMap<String, String>, path: &str, errors: &mut Vec<FieldError>) {
    for (key, value) in labels {
        if let Err(why) = check_label_key(key) {
            errors.add(format!("{path}[{key}]"), format!("key `{key}` {why}"));
        }
        if let Err(why) = check_label_value(value) {
            errors.add(format!("{path}[{key}]"), format!("value `{value}` {why}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> NetworkPolicy {
        let value = crate::yaml::parse_documents(yaml).unwrap().remove(0);
        crate::yaml::from_value(value).unwrap()
    }

    /// The field paths of the errors of a policy whose spec is `spec`.
    fn fields(spec: &str) -> Vec<String> {
        let text = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: ns}}\nspec:\n{spec}\n"
        );
        validate_network_policy(&policy(&text))
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    fn messages(spec: &str) -> Vec<String> {
        let text = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: ns}}\nspec:\n{spec}\n"
        );
        validate_network_policy(&policy(&text))
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn a_valid_policy_has_no_errors() {
        let spec = "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [web]}]}\n      podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\n    ports:\n    - {port: 8080}\n    - {port: http, protocol: TCP}\n    - {port: 30000, endPort: 32767, protocol: UDP}\n    - {protocol: SCTP}\n  egress:\n  - to:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}\n  - {}";
        assert_eq!(fields(spec), Vec::<String>::new());
    }

    #[test]
    fn metadata_name_and_namespace() {
        let check = |meta: &str| {
            let text = format!(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {meta}\nspec: {{}}\n"
            );
            validate_network_policy(&policy(&text))
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            check("{name: a.b-c, namespace: prod}"),
            Vec::<String>::new()
        );
        assert_eq!(check("{namespace: prod}"), ["metadata.name"]);
        assert_eq!(check("{name: Bad_Name}"), ["metadata.name"]);
        assert_eq!(
            check("{name: ok, namespace: a.b}"),
            ["metadata.namespace"],
            "a namespace is a label, not a subdomain"
        );
        assert_eq!(
            check("{name: ok, labels: {-bad: x}}"),
            ["metadata.labels[-bad]"]
        );
    }

    #[test]
    fn ports_numbers_ranges_and_protocols() {
        let cases = [
            ("{port: 0}", "port"),
            ("{port: 65536}", "port"),
            ("{port: 80, endPort: 79}", "endPort"),
            ("{port: 80, endPort: 80}", ""),
            ("{port: 80, endPort: 70000}", "endPort"),
            ("{endPort: 90}", "endPort"),
            ("{port: http, endPort: 90}", "endPort"),
            ("{port: 53, protocol: ICMP}", "protocol"),
            ("{port: 53, protocol: udp}", "protocol"),
        ];
        for (port, field) in cases {
            let expected: Vec<String> = [field]
                .iter()
                .filter(|f| !f.is_empty())
                .map(|f| format!("spec.egress[0].ports[0].{f}"))
                .collect();
            assert_eq!(
                fields(&format!("  egress:\n  - ports: [{port}]")),
                expected,
                "{port}"
            );
        }
    }

    /// The name rule itself is `rules::check_port_name`, tested there.
    #[test]
    fn named_ports_are_iana_service_names() {
        assert_eq!(
            fields("  ingress:\n  - ports: [{port: \"8080\"}]"),
            ["spec.ingress[0].ports[0].port"]
        );
    }

    #[test]
    fn peers_need_exactly_one_kind() {
        assert_eq!(
            fields("  ingress:\n  - from: [{}]"),
            ["spec.ingress[0].from[0]"]
        );
        assert_eq!(
            fields("  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]"),
            ["spec.egress[0].to[0]"]
        );
        assert_eq!(
            fields("  ingress:\n  - from: [{namespaceSelector: {}, podSelector: {}}]"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn ip_blocks() {
        assert_eq!(
            fields("  egress:\n  - to: [{ipBlock: {cidr: \"\"}}]"),
            ["spec.egress[0].to[0].ipBlock.cidr"]
        );
        assert_eq!(
            fields("  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/33}}]"),
            ["spec.egress[0].to[0].ipBlock.cidr"]
        );
        // Host bits are cleared, as `net.ParseCIDR` does for the API server.
        assert_eq!(
            fields("  egress:\n  - to: [{ipBlock: {cidr: 10.1.2.3/8, except: [10.1.2.3/16]}}]"),
            Vec::<String>::new()
        );
        let excepts = fields(
            "  ingress:\n  - from:\n    - podSelector: {}\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.0.0.0/8, 192.168.0.0/16, fd00::/8, nonsense]}",
        );
        let prefix = "spec.ingress[0].from[1].ipBlock.except";
        assert_eq!(
            excepts,
            [
                format!("{prefix}[1]"),
                format!("{prefix}[2]"),
                format!("{prefix}[3]"),
                format!("{prefix}[4]")
            ]
        );
        // The excepts of a CIDR with host bits are compared with its network.
        assert_eq!(
            fields("  egress:\n  - to: [{ipBlock: {cidr: 10.1.2.3/8, except: [11.0.0.0/8]}}]"),
            ["spec.egress[0].to[0].ipBlock.except[0]"]
        );
    }

    #[test]
    fn policy_types() {
        assert_eq!(
            fields("  policyTypes: [Ingress, Sideways]"),
            ["spec.policyTypes[1]"]
        );
        // Upstream only caps the list at two entries.
        assert_eq!(
            fields("  policyTypes: [Egress, Egress]"),
            Vec::<String>::new()
        );
        assert_eq!(
            fields("  policyTypes: [Ingress, Egress, Ingress]"),
            ["spec.policyTypes"]
        );
        assert_eq!(
            fields("  policyTypes: [ingress]"),
            ["spec.policyTypes[0]"],
            "case matters"
        );
    }

    #[test]
    fn label_selectors() {
        let at = "spec.podSelector.matchExpressions[0]";
        assert_eq!(
            fields("  podSelector: {matchExpressions: [{key: a, operator: In}]}"),
            [format!("{at}.values")]
        );
        assert_eq!(
            fields("  podSelector: {matchExpressions: [{key: a, operator: NotIn, values: []}]}"),
            [format!("{at}.values")]
        );
        assert_eq!(
            fields("  podSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}"),
            [format!("{at}.values")]
        );
        assert_eq!(
            fields(
                "  podSelector: {matchExpressions: [{key: a, operator: DoesNotExist, values: [x]}]}"
            ),
            [format!("{at}.values")]
        );
        assert_eq!(
            fields("  podSelector: {matchExpressions: [{key: a, operator: Equals, values: [x]}]}"),
            [format!("{at}.operator")]
        );
        assert_eq!(
            fields("  podSelector: {matchExpressions: [{key: -a, operator: Exists}]}"),
            [format!("{at}.key")]
        );
        assert_eq!(
            fields(
                "  podSelector: {matchExpressions: [{key: a, operator: In, values: [ok, -bad]}]}"
            ),
            [format!("{at}.values[1]")]
        );
        assert_eq!(
            fields(
                "  podSelector: {matchLabels: {app: \"a b\"}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {Bad.Prefix/x: y}}}]"
            ),
            [
                "spec.podSelector.matchLabels[app]",
                "spec.ingress[0].from[0].namespaceSelector.matchLabels[Bad.Prefix/x]"
            ]
        );
    }

    #[test]
    fn messages_say_what_to_do() {
        let all = messages(
            "  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]\n    ports: [{port: 90, endPort: 80}]",
        );
        assert_eq!(
            all,
            [
                "spec.egress[0].ports[0].endPort: 80 must be greater than or equal to `port` (90)",
                "spec.egress[0].to[0].ipBlock.except[0]: except `192.168.0.0/16` is not a strict subset of `10.0.0.0/8`; every except entry must lie inside its CIDR and be smaller",
            ]
        );
    }
}
