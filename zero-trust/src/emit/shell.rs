//! What the generated shell scripts (`apply.sh`, `verify.sh`) share: how a template is
//! filled, the helpers both run first, how a value becomes one bash word, and how a
//! declared cluster's scripts refuse a context not declared for it.
//!
//! Each script is a template, a real file (`apply.sh.in`, `verify.sh.in`) that can be
//! read, diffed and shellchecked as a script; Rust renders only its data section, so the
//! output is deterministic and the logic is never hidden in Rust strings.

use std::fmt::Write as _;

use crate::cluster::Cluster;

use super::GENERATED_HEADER;

/// What both generated scripts need first: error messages and the bash version check.
/// A file of its own so it is shellchecked (with each template) like the rest.
pub const SHELL_HELPERS: &str = include_str!("shell_helpers.sh.in");

/// The placeholders of a template, each alone on its line except the header's (a comment).
const HEADER_PLACEHOLDER: &str = "{GENERATED_HEADER}";
const HELPERS_PLACEHOLDER: &str = "{SHELL_HELPERS}\n";
const DATA_PLACEHOLDER: &str = "{DATA}\n";

/// `template` with its header line, [`SHELL_HELPERS`] and `data` (the data section,
/// rendered by the caller) filled in. `data` is inserted last, so nothing it holds can be
/// taken for a placeholder.
pub fn fill_template(template: &str, data: &str) -> String {
    for placeholder in [HEADER_PLACEHOLDER, HELPERS_PLACEHOLDER, DATA_PLACEHOLDER] {
        debug_assert!(
            template.matches(placeholder).count() == 1,
            "a script template needs {placeholder:?} exactly once"
        );
    }
    template
        .replacen(HEADER_PLACEHOLDER, GENERATED_HEADER, 1)
        .replacen(HELPERS_PLACEHOLDER, SHELL_HELPERS, 1)
        .replacen(DATA_PLACEHOLDER, data, 1)
}

/// A declared cluster, as its scripts know it: the cluster label prune also selects on,
/// and the only contexts its `apply.sh` and `verify.sh` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterScope {
    pub name: String,
    pub contexts: Vec<String>,
}

impl ClusterScope {
    /// The declared cluster `cluster` is assembled for, if the source declares clusters.
    pub fn of(cluster: &Cluster) -> Option<ClusterScope> {
        cluster.target.map(|target| ClusterScope {
            name: target.name.to_owned(),
            contexts: target.contexts.iter().map(|&c| c.to_owned()).collect(),
        })
    }
}

/// Where a script refuses a context not declared for its cluster: a comment line of its
/// own (so the template still shellchecks), indented as the code around it.
const CLUSTER_CHECK_PLACEHOLDER: &str = "# {CLUSTER_CHECK}\n";
/// The check itself, on `$context`, against the data that [`push_cluster_scope`] writes.
pub const CLUSTER_CHECK: &str = include_str!("cluster_check.sh.in");

/// `template` with its cluster check in place for a declared cluster, at the
/// placeholder's indentation; without one the placeholder line is removed whole, so the
/// script of a source without clusters stays as it was.
pub fn with_cluster_check(template: &str, cluster: Option<&ClusterScope>) -> String {
    // The templates are this crate's constants, rendered by its tests: a template without
    // the placeholder is a bug here, and a script silently without its context check would
    // be the worst way for it to show.
    let at = template
        .find(CLUSTER_CHECK_PLACEHOLDER)
        .unwrap_or_else(|| panic!("a script template needs {CLUSTER_CHECK_PLACEHOLDER:?}"));
    let line_start = template[..at].rfind('\n').map_or(0, |newline| newline + 1);
    let indent = &template[line_start..at];
    let mut script = template[..line_start].to_owned();
    if cluster.is_some() {
        for line in CLUSTER_CHECK.lines() {
            if !line.is_empty() {
                script.push_str(indent);
            }
            script.push_str(line);
            script.push('\n');
        }
    }
    script.push_str(&template[at + CLUSTER_CHECK_PLACEHOLDER.len()..]);
    script
}

/// The data [`CLUSTER_CHECK`] reads: the cluster's name and its declared contexts.
pub fn push_cluster_scope(data: &mut String, cluster: &ClusterScope) {
    data.push_str("# The declared cluster: any context but these is refused.\n");
    writeln!(data, "cluster={}", shell_word(&cluster.name)).unwrap();
    push_array(data, "cluster_contexts", &cluster.contexts);
}

/// A bash array assignment, one element per line; `name=()` when there are none.
pub fn push_array<S: AsRef<str>>(script: &mut String, name: &str, values: &[S]) {
    push_array_of(script, name, values.iter().map(|v| shell_word(v.as_ref())));
}

/// A bash array assignment of `elements`, already written as bash (such as `[key]=value`
/// for an associative array), one per line; `name=()` when there are none.
pub fn push_array_of(script: &mut String, name: &str, elements: impl IntoIterator<Item = String>) {
    write!(script, "{name}=(").unwrap();
    let mut any = false;
    for element in elements {
        write!(script, "\n  {element}").unwrap();
        any = true;
    }
    script.push_str(if any { "\n)\n" } else { ")\n" });
}

/// `value` as one bash word: bare when every character is one bash never interprets (as
/// Kubernetes names and our file names are), single-quoted otherwise.
pub fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '='));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_word_quotes_only_what_bash_would_interpret() {
        assert_eq!(shell_word("shop/allow-web"), "shop/allow-web");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn arrays_are_one_element_a_line_and_empty_ones_one_line() {
        let mut script = String::new();
        push_array(&mut script, "a", &["x y", "z"]);
        push_array::<&str>(&mut script, "b", &[]);
        assert_eq!(script, "a=(\n  'x y'\n  z\n)\nb=()\n");
    }

    #[test]
    fn the_cluster_check_takes_the_placeholders_indentation_or_leaves_nothing() {
        let template = "a\n  # {CLUSTER_CHECK}\nb\n";
        assert_eq!(with_cluster_check(template, None), "a\nb\n");
        let checked = with_cluster_check(template, Some(&ClusterScope::default()));
        let indented: String = CLUSTER_CHECK
            .lines()
            .map(|line| match line {
                "" => "\n".to_owned(),
                line => format!("  {line}\n"),
            })
            .collect();
        assert_eq!(checked, format!("a\n{indented}b\n"));
    }

    #[test]
    fn data_is_filled_in_last_so_it_is_never_taken_for_a_placeholder() {
        let template = "#!/usr/bin/env bash\n# {GENERATED_HEADER}\n{DATA}\n{SHELL_HELPERS}\n";
        let script = fill_template(template, "x='{SHELL_HELPERS}'\n");
        assert_eq!(
            script,
            format!(
                "#!/usr/bin/env bash\n# {GENERATED_HEADER}\nx='{{SHELL_HELPERS}}'\n{SHELL_HELPERS}"
            )
        );
    }
}
