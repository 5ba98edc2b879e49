//! Clusters declared in the assembly: the example of two clusters pinned byte for byte
//! against its committed `k8s/staging/` and `k8s/prod/` and proven cluster by cluster,
//! what differs between them, and the mistakes of a declaration.

use std::collections::BTreeMap;
use std::path::Path;

use zero_trust::emit::clusters::{emit_source, particular_flows};
use zero_trust::verify::prove_emitted;
use zero_trust::{Cluster, ClusterError, ClusterTarget, Policy, assemble_clusters};

fn example_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/two-clusters/k8s")
}

/// The committed output of the example is what `cargo xtask emit` writes for it; when this
/// fails, run `cargo xtask emit`, read the diff and commit it.
#[test]
fn committed_example_matches_its_two_clusters() {
    let clusters = two_clusters::clusters().expect("the example assembles");
    let emitted = emit_source(&clusters).expect("renders");
    let names: Vec<&str> = emitted.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "apply.sh",
            "prod/10-allow-shop.yaml",
            "prod/20-default-deny.yaml",
            "prod/FLOWS-shop.md",
            "prod/FLOWS.md",
            "prod/apply.sh",
            "prod/verify.sh",
            "staging/10-allow-shop.yaml",
            "staging/20-default-deny.yaml",
            "staging/FLOWS-shop.md",
            "staging/FLOWS.md",
            "staging/apply.sh",
            "staging/verify.sh",
        ]
    );
    for (name, text) in &emitted.files {
        let committed = std::fs::read_to_string(example_dir().join(name)).unwrap_or_default();
        assert!(
            committed == *text,
            "examples/two-clusters/k8s/{name} is stale; run `cargo xtask emit`"
        );
    }
    let summaries: Vec<(String, usize, usize)> = emitted
        .clusters
        .iter()
        .map(|c| {
            (
                c.folder.clone(),
                c.emitted.summary.managed_namespaces,
                c.emitted.summary.flows,
            )
        })
        .collect();
    assert_eq!(
        summaries,
        [("staging/".to_owned(), 1, 6), ("prod/".to_owned(), 1, 4)]
    );
}

/// Each committed cluster folder, read back as kubectl would, allows exactly what that
/// cluster declares, and not what the other one does.
#[test]
fn each_committed_cluster_is_proven_against_its_own_declarations() {
    let clusters = two_clusters::clusters().expect("the example assembles");
    for cluster in &clusters {
        let name = cluster.target.expect("declared").name;
        prove_emitted(cluster, &example_dir().join(name))
            .unwrap_or_else(|problems| panic!("{name}: {problems:#?}"));
    }
    let (staging, prod) = (&clusters[0], &clusters[1]);
    let problems = prove_emitted(prod, &example_dir().join("staging"))
        .expect_err("staging's YAML is not prod's");
    assert!(
        problems.iter().any(|p| p.contains("198.51.100.0/28")),
        "{problems:#?}"
    );
    assert!(prove_emitted(staging, &example_dir().join("prod")).is_err());
}

/// Every object names the source and the cluster, so prune of one cluster never deletes
/// another's; the guide (no cluster declared) keeps its two labels only.
#[test]
fn every_object_carries_the_source_and_cluster_labels() {
    let clusters = two_clusters::clusters().expect("the example assembles");
    let emitted = emit_source(&clusters).expect("renders");
    for (name, text) in &emitted.files {
        if !name.ends_with(".yaml") {
            continue;
        }
        let cluster = name.split('/').next().unwrap();
        let documents = text.matches("\nkind: NetworkPolicy\n").count();
        assert!(documents > 0, "{name}");
        assert_eq!(
            text.matches("    zero-trust.dev/policy-source: two-clusters-example\n")
                .count(),
            documents,
            "{name}"
        );
        assert_eq!(
            text.matches(&format!("    zero-trust.dev/cluster: {cluster}\n"))
                .count(),
            documents,
            "{name}"
        );
    }
    let guide = emit_source(&policies::clusters().expect("the guide assembles")).expect("renders");
    assert!(guide.files.keys().all(|name| !name.contains('/')));
    assert!(
        guide
            .files
            .values()
            .all(|text| !text.contains("zero-trust.dev/cluster"))
    );
    assert!(!guide.files.contains_key("staging/apply.sh"));
}

/// What FLOWS.md of each cluster states as particular to it: the canary and the mock in
/// staging, the partner's CIDR in prod.
#[test]
fn each_cluster_states_what_is_particular_to_it() {
    let clusters = two_clusters::clusters().expect("the example assembles");
    let lines = |cluster: &Cluster| -> Vec<String> {
        particular_flows(cluster, &clusters)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        lines(&clusters[0]),
        [
            "ingress_nginx -> web_canary:8080",
            "web_canary -> checkout:3000",
            "checkout -> partner_mock:8443"
        ]
    );
    assert_eq!(lines(&clusters[1]), ["checkout -> partner_api:443"]);
    let emitted = emit_source(&clusters).expect("renders");
    let prod = &emitted.files["prod/FLOWS.md"];
    assert!(
        prod.contains("## Particular to cluster `prod`\n")
            && prod.contains("| `shop/checkout` | `partner_api` (203.0.113.0/24) | 443/tcp |\n"),
        "{prod}"
    );
}

mod shared {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: 8080; api: 3000 }
        web -> api:3000;
    }
}

mod staging_only {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace canary { web_canary: 8080 }
        web_canary -> crate::clusters::shared::api:3000;
    }
}

mod reaches_staging_only {
    use zero_trust::zero_trust;
    zero_trust! {
        crate::clusters::shared::web -> crate::clusters::staging_only::web_canary:8080;
    }
}

const SHARED: &[&Policy] = &[&shared::POLICY];

/// Two clusters holding only the common parts.
static STAGING_AND_PROD: &[ClusterTarget] = &[
    ClusterTarget {
        name: "staging",
        contexts: &["kind-staging"],
        own_parts: &[],
    },
    ClusterTarget {
        name: "prod",
        contexts: &["gke-prod"],
        own_parts: &[],
    },
];

/// The one error assembling gives.
#[track_caller]
fn only_error(parts: &[&'static Policy], clusters: &'static [ClusterTarget]) -> String {
    let errors = errors(parts, clusters);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors[0].clone()
}

fn errors(parts: &[&'static Policy], clusters: &'static [ClusterTarget]) -> Vec<String> {
    match assemble_clusters(parts, clusters, "shop") {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ClusterError::to_string).collect(),
    }
}

/// Staging with a block of its own, and prod.
static WITH_STAGING_ONLY: &[ClusterTarget] = &[
    ClusterTarget {
        name: "staging",
        contexts: &["kind-staging"],
        own_parts: &[&staging_only::POLICY],
    },
    ClusterTarget {
        name: "prod",
        contexts: &["gke-prod"],
        own_parts: &[],
    },
];

/// A cluster-limited block belongs to its cluster only: its workloads and flows are in
/// that cluster's assembly and no other.
#[test]
fn a_clusters_own_parts_are_in_that_cluster_only() {
    let clusters = assemble_clusters(SHARED, WITH_STAGING_ONLY, "shop").expect("assembles");
    let workloads = |cluster: &Cluster| -> Vec<&str> {
        cluster.workloads.keys().map(|(_, name)| *name).collect()
    };
    assert_eq!(workloads(&clusters[0]), ["web-canary", "api", "web"]);
    assert_eq!(workloads(&clusters[1]), ["api", "web"]);
    assert_eq!(clusters[0].flows.len(), 2);
    assert_eq!(clusters[1].flows.len(), 1);
    let files: BTreeMap<_, _> = emit_source(&clusters).expect("renders").files;
    assert!(files.contains_key("staging/10-allow-canary.yaml"));
    assert!(!files.contains_key("prod/10-allow-canary.yaml"));
}

/// A flow (of any file) that reaches, in some cluster, a workload that cluster lacks is an
/// error at emit naming that cluster, never a flow silently dropped.
#[test]
fn a_flow_reaching_a_workload_absent_from_one_cluster_names_that_cluster() {
    static PARTS: &[&Policy] = &[&shared::POLICY, &reaches_staging_only::POLICY];
    let error = only_error(PARTS, WITH_STAGING_ONLY);
    assert!(
        error.starts_with(
            "in cluster `prod`: flow `web -> web_canary:8080` in tests/tests/it/clusters.rs reaches workload `web_canary` (`canary/web-canary`), which is not part of the cluster"
        ),
        "{error}"
    );
}

/// A mistake of every cluster alike is reported once, without a cluster's name.
#[test]
fn an_error_of_every_cluster_is_reported_once() {
    static PARTS: &[&Policy] = &[&shared::POLICY, &reaches_staging_only::POLICY];
    let error = only_error(PARTS, STAGING_AND_PROD);
    assert!(
        error.starts_with("flow `web -> web_canary:8080`"),
        "{error}"
    );
}

#[test]
fn two_clusters_declaring_one_context_is_an_error_at_emit() {
    static CLUSTERS: &[ClusterTarget] = &[
        ClusterTarget {
            name: "staging",
            contexts: &["shared-admin", "kind-staging"],
            own_parts: &[],
        },
        ClusterTarget {
            name: "prod",
            contexts: &["gke-prod", "shared-admin"],
            own_parts: &[],
        },
    ];
    assert_eq!(
        errors(SHARED, CLUSTERS),
        [
            "kube context `shared-admin` is declared for both cluster `staging` and cluster `prod`; a context reaches one cluster, so declare it for one"
        ]
    );
}

#[test]
fn cluster_names_must_be_folder_and_label_safe_unique_and_have_contexts() {
    static CLUSTERS: &[ClusterTarget] = &[
        ClusterTarget {
            name: "../prod",
            contexts: &["a"],
            own_parts: &[],
        },
        ClusterTarget {
            name: "staging",
            contexts: &[],
            own_parts: &[],
        },
        ClusterTarget {
            name: "staging",
            contexts: &["b"],
            own_parts: &[],
        },
    ];
    let errors = errors(SHARED, CLUSTERS);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].starts_with("cluster name `../prod` cannot name a folder of k8s/"));
    assert_eq!(
        errors[1],
        "cluster `staging` declares no kube context, so nothing could apply it; list the contexts that may receive it"
    );
    assert_eq!(
        errors[2],
        "cluster `staging` is declared twice; declare each cluster once"
    );
}

mod limited {
    use zero_trust::zero_trust;
    zero_trust! {
        clusters staging, prod;
        namespace shop {
            web: 8080;
            api: 3000;
            #[clusters(staging)] canary: 8080
        }
        #[clusters(prod)]
        namespace billing { invoices: 9000 }
        #[clusters(prod)]
        cidr partner = "203.0.113.0/24";

        web -> api:3000;
        #[clusters(staging)] canary -> api:3000;
        #[clusters(prod)] api -> partner:443;
        #[clusters(prod)] api -> invoices:9000;
    }
}

mod reaches_canary {
    use zero_trust::zero_trust;
    zero_trust! {
        crate::clusters::limited::web -> crate::clusters::limited::canary:8080;
    }
}

/// `#[clusters(...)]` on a workload, a namespace (with its workloads), a cidr and flows:
/// each cluster holds what is limited to it and everything unlimited.
#[test]
fn cluster_limited_declarations_and_flows_are_in_their_clusters_only() {
    let clusters =
        assemble_clusters(&[&limited::POLICY], STAGING_AND_PROD, "shop").expect("assembles");
    let summary = |cluster: &Cluster| {
        let workloads: Vec<String> = cluster
            .workloads
            .keys()
            .map(|(namespace, name)| format!("{namespace}/{name}"))
            .collect();
        let cidrs: Vec<&str> = cluster.cidrs.iter().map(|c| c.ident).collect();
        let flows: Vec<String> = cluster.flows.iter().map(ToString::to_string).collect();
        (workloads, cidrs, flows)
    };
    assert_eq!(
        summary(&clusters[0]),
        (
            vec!["shop/api".into(), "shop/canary".into(), "shop/web".into()],
            vec![],
            vec!["web -> api:3000".into(), "canary -> api:3000".into()]
        )
    );
    assert_eq!(
        summary(&clusters[1]),
        (
            vec![
                "billing/invoices".into(),
                "shop/api".into(),
                "shop/web".into()
            ],
            vec!["partner"],
            vec![
                "web -> api:3000".into(),
                "api -> partner:443".into(),
                "api -> invoices:9000".into()
            ]
        )
    );
    let files = emit_source(&clusters).expect("renders").files;
    assert!(files.contains_key("prod/10-allow-billing.yaml"));
    assert!(!files.contains_key("staging/10-allow-billing.yaml"));
    assert!(files["staging/10-allow-shop.yaml"].contains("name: canary.egress"));
    assert!(!files["prod/10-allow-shop.yaml"].contains("canary"));
}

/// Across files, a flow into a workload limited to staging is an error at emit naming
/// prod, where the workload is absent.
#[test]
fn a_flow_of_another_file_reaching_a_limited_workload_names_the_cluster_lacking_it() {
    static PARTS: &[&Policy] = &[&limited::POLICY, &reaches_canary::POLICY];
    let error = only_error(PARTS, STAGING_AND_PROD);
    assert!(
        error.starts_with(
            "in cluster `prod`: flow `web -> canary:8080` in tests/tests/it/clusters.rs reaches workload `canary` (`shop/canary`), which is not part of the cluster"
        ),
        "{error}"
    );
}

/// A block's `clusters` line must name clusters the assembly declares.
#[test]
fn a_block_naming_an_undeclared_cluster_is_an_error_at_emit() {
    static ONLY_PROD: &[ClusterTarget] = &[ClusterTarget {
        name: "prod",
        contexts: &["gke-prod"],
        own_parts: &[],
    }];
    assert_eq!(
        errors(&[&limited::POLICY], ONLY_PROD),
        [
            "tests/tests/it/clusters.rs names cluster `staging`, which the assembly does not declare; declared: prod"
        ]
    );
    let none = errors(&[&limited::POLICY], &[]);
    assert_eq!(none.len(), 2, "{none:#?}");
    assert!(
        none[0].contains("but the assembly declares no cluster"),
        "{none:#?}"
    );
}
