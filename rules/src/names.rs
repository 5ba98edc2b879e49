//! Names and labels, as Kubernetes' API validation checks them.
//!
//! Follows `k8s.io/apimachinery/pkg/util/validation/validation.go`: `IsDNS1123Label`,
//! `IsDNS1123Subdomain`, `IsQualifiedName` (label keys) and `IsValidLabelValue`. Each check
//! returns the reason in words fit for a compile error or a validation report.

/// Set by Kubernetes on every namespace (since 1.21) and immutable, so selecting a
/// namespace by it needs no labelling step that could be forgotten.
/// <https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-namespace-by-its-name>
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The recommended label that marks every object zero-trust writes, so `apply.sh` can
/// prune exactly its own objects.
/// <https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/>
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "zero-trust";

/// Names the policy source (this repository, or one of its clusters) that wrote an object,
/// so `apply.sh` prunes only its own objects where several repositories use zero-trust on
/// one cluster. Its value is the cluster's `source` name.
pub const POLICY_SOURCE_LABEL: &str = "zero-trust.dev/policy-source";

/// Names the cluster, of those a policy source declares, that an object was emitted for:
/// with the source label, it tells staging's objects from prod's where both share one
/// Kubernetes cluster, or where a context was mistaken. Absent when no cluster is declared.
pub const CLUSTER_LABEL: &str = "zero-trust.dev/cluster";

/// The annotation of an allow-policy that holds the reasons (doc comments) of its flows.
pub const REASONS_ANNOTATION: &str = "zero-trust.dev/reasons";

/// The policy of each managed namespace that isolates every pod in both directions.
pub const DEFAULT_DENY_ALL: &str = "default-deny-all";

/// Policies are named `<workload>.ingress` and `<workload>.egress`; flows to or from a
/// whole namespace or `*` go to `all-pods.ingress`/`.egress`, so no workload may be
/// called `all-pods`.
pub const ALL_PODS: &str = "all-pods";

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;

/// The Kubernetes name the DSL gives a namespace or workload written without `as "..."`:
/// its identifier with `_` written as `-` (`prod_api` is `prod-api`). The macro, synth
/// and import all derive names by this one rule.
pub fn kubernetes_name_of(ident: &str) -> String {
    ident.replace('_', "-")
}

/// `IsDNS1123Label`: namespace names, and the names zero-trust gives workloads.
pub fn check_dns1123_label(value: &str) -> Result<(), String> {
    if value.len() > DNS1123_LABEL_MAX {
        return Err(format!(
            "must be at most {DNS1123_LABEL_MAX} characters, not {}",
            value.len()
        ));
    }
    if !is_dns1123_label(value) {
        return Err(
            "must be a DNS-1123 label: lowercase letters, digits and `-`, \
                    starting and ending with a letter or digit"
                .to_owned(),
        );
    }
    Ok(())
}

/// `IsDNS1123Subdomain`: object names such as a NetworkPolicy's, and label key prefixes.
pub fn check_dns1123_subdomain(value: &str) -> Result<(), String> {
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        return Err(format!(
            "must be at most {DNS1123_SUBDOMAIN_MAX} characters, not {}",
            value.len()
        ));
    }
    if !value.split('.').all(is_dns1123_label) {
        return Err(
            "must be a DNS-1123 subdomain: dot-separated lowercase labels of \
                    letters, digits and `-`"
                .to_owned(),
        );
    }
    Ok(())
}

/// `IsQualifiedName`: a label key is `[prefix/]name`, the prefix a DNS-1123 subdomain and
/// the name at most 63 alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric.
pub fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err("has an empty prefix before `/`".to_owned());
        }
        check_dns1123_subdomain(prefix).map_err(|why| format!("prefix `{prefix}` {why}"))?;
    }
    if name.is_empty() {
        return Err("must have a name (the part after any `/`)".to_owned());
    }
    if name.len() > QUALIFIED_NAME_MAX {
        return Err(format!(
            "name part must be at most {QUALIFIED_NAME_MAX} characters, not {}",
            name.len()
        ));
    }
    if !is_qualified_name_part(name) {
        return Err("name part must consist of alphanumerics, `-`, `_` or `.`, \
                    starting and ending with an alphanumeric"
            .to_owned());
    }
    Ok(())
}

/// `IsValidLabelValue`: empty, or at most 63 characters shaped like a qualified name part.
pub fn check_label_value(value: &str) -> Result<(), String> {
    if value.len() > LABEL_VALUE_MAX {
        return Err(format!(
            "must be at most {LABEL_VALUE_MAX} characters, not {}",
            value.len()
        ));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        return Err("must consist of alphanumerics, `-`, `_` or `.`, \
                    starting and ending with an alphanumeric"
            .to_owned());
    }
    Ok(())
}

fn is_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let inner_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => edge_ok(first) && edge_ok(last) && bytes.iter().all(inner_ok),
        _ => false,
    }
}

fn is_qualified_name_part(value: &str) -> bool {
    let bytes = value.as_bytes();
    let inner_ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(inner_ok)
        }
        _ => false,
    }
}

/// `IsValidPortName`: an IANA_SVC_NAME (RFC 6335) — at most 15 lowercase alphanumerics or
/// `-`, at least one letter, no `--`, no `-` at either end.
pub fn check_port_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err("must be 1 to 15 characters long; a named port is an IANA service name".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("must contain only lowercase letters, digits and `-`".into());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(
            "must contain at least one letter; write a number without quotes for a numeric port"
                .into(),
        );
    }
    if name.contains("--") {
        return Err("must not contain consecutive hyphens".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("must not begin or end with a hyphen".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_names_are_iana_service_names() {
        for ok in ["http", "serve-80-tcp", "a", "h2c", "abcdefghijklmno"] {
            assert_eq!(check_port_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "abcdefghijklmnop",
            "HTTP",
            "a_b",
            "80",
            "a--b",
            "-http",
            "http-",
        ] {
            assert!(check_port_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dns1123_labels() {
        for ok in ["a", "prod-api", "a1", "0abc", &"a".repeat(63)] {
            assert_eq!(check_dns1123_label(ok), Ok(()), "{ok}");
        }
        for bad in ["", "-a", "a-", "Prod", "a_b", "a.b", &"a".repeat(64)] {
            assert!(check_dns1123_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dns1123_subdomains() {
        assert_eq!(check_dns1123_subdomain("main-api.ingress"), Ok(()));
        assert!(check_dns1123_subdomain("a..b").is_err());
        assert!(check_dns1123_subdomain(&"a".repeat(254)).is_err());
    }

    #[test]
    fn label_keys() {
        for ok in [
            "app",
            "k8s-app",
            "app.kubernetes.io/name",
            "a_b.c",
            "example.com/A1",
        ] {
            assert_eq!(check_label_key(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/app",
            "Example.com/app",
            "app/",
            "-app",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(check_label_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_values() {
        for ok in ["", "ingress-nginx", "v1.2_3", "A"] {
            assert_eq!(check_label_value(ok), Ok(()), "{ok}");
        }
        for bad in ["-x", "x-", "a b", "a/b", &"a".repeat(64)] {
            assert!(check_label_value(bad).is_err(), "{bad}");
        }
    }
}
