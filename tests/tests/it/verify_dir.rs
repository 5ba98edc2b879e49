//! `cargo xtask verify DIR` on folders it did not write: every NetworkPolicy is validated
//! with the API server's rules before it is evaluated (each invalid one below was once
//! "proved"), and what cannot be read is reported with its file, document and line.

use zero_trust::eval::{Analysis, load_dir};

/// What `verify DIR` reads and evaluates: the folder, then the analysis (which validates
/// first). The errors, one line each.
fn verify_dir(files: &[(&str, &str)]) -> Result<(), Vec<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let strip = |errors: Vec<String>| {
        let prefix = format!("{}/", dir.path().display());
        errors
            .iter()
            .map(|e| e.replace(&prefix, ""))
            .collect::<Vec<_>>()
    };
    let inputs =
        load_dir(dir.path()).map_err(|e| strip(e.iter().map(ToString::to_string).collect()))?;
    Analysis::new(&inputs)
        .map(drop)
        .map_err(|e| strip(e.iter().map(ToString::to_string).collect()))
}

fn policy(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: prod\nspec:\n{spec}\n"
    )
}

#[test]
fn a_valid_folder_is_evaluated() {
    let valid = policy(
        "web",
        "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: http}]",
    );
    assert_eq!(verify_dir(&[("p.yaml", &valid)]), Ok(()));
}

#[test]
fn each_api_invalid_policy_fails_with_its_field() {
    let cases = [
        (
            policy(
                "p",
                "  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]",
            ),
            "p.yaml, document 1, line 1: NetworkPolicy `prod/p`: spec.egress[0].to[0].ipBlock.except[0]: \
             except `192.168.0.0/16` is not a strict subset of `10.0.0.0/8`; every except entry \
             must lie inside its CIDR and be smaller",
        ),
        (
            policy("Allow-Web", "  podSelector: {}"),
            "p.yaml, document 1, line 1: NetworkPolicy `prod/Allow-Web`: metadata.name: `Allow-Web` ",
        ),
        (
            policy("p", "  podSelector: {matchLabels: {-bad: x}}"),
            "p.yaml, document 1, line 1: NetworkPolicy `prod/p`: spec.podSelector.matchLabels[-bad]: key `-bad` ",
        ),
        (
            policy(
                "p",
                "  podSelector: {}\n  ingress:\n  - ports: [{port: \"8080\"}]",
            ),
            "p.yaml, document 1, line 1: NetworkPolicy `prod/p`: spec.ingress[0].ports[0].port: `8080` \
             must contain at least one letter; write a number without quotes for a numeric port",
        ),
    ];
    for (text, expected) in cases {
        let errors = verify_dir(&[("p.yaml", &text)]).expect_err(expected);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(expected),
            "{}\nexpected: {expected}",
            errors[0]
        );
    }
}

#[test]
fn a_duplicate_policy_name_fails() {
    let deny = policy("deny", "  podSelector: {}");
    let errors = verify_dir(&[("a.yaml", &deny), ("b.yaml", &deny)]).unwrap_err();
    assert_eq!(
        errors,
        [
            "b.yaml:1:1, document 1: NetworkPolicy `prod/deny` is declared twice, here and at \
          a.yaml, document 1, line 1; only one object of a namespace and name can exist in a \
          cluster: rename or remove one"
        ]
    );
}

#[test]
fn a_bare_sequence_document_fails() {
    let deny = policy("deny", "  podSelector: {}");
    let sequence = format!("- {}", deny.replace('\n', "\n  "));
    let errors = verify_dir(&[("list.yaml", &sequence)]).unwrap_err();
    assert_eq!(
        errors,
        [
            "list.yaml:1:1, document 1: the document is a sequence (a YAML list), not a Kubernetes \
          object; write each object as a mapping with `kind` and `apiVersion`, one per document \
          (`---`) or as `items:` of a `kind: List`"
        ]
    );
}
