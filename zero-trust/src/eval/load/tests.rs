//! Tests of reading objects from YAML and JSON, and of walking folders of it.

use super::*;
use crate::eval::{Analysis, NamedPort};
use zero_trust_rules::Protocol;

const MIXED: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: {team: a}
---
# a comment-only preamble is fine
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: c
        ports:
        - {name: http, containerPort: 8080}
        - {name: dns, containerPort: 53, protocol: UDP}
        - {containerPort: 9090}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
---
apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny, namespace: other}
  spec: {podSelector: {}}
- apiVersion: v1
  kind: Pod
  metadata: {name: solo}
  spec: {containers: [{name: c}]}
"#;

#[test]
fn loads_every_supported_kind_and_lists() {
    let inputs = Inputs::from_yaml("mixed.yaml", MIXED).unwrap();
    let names: Vec<_> = inputs
        .topology
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["prod", "other", "default"]);
    assert_eq!(inputs.topology.namespaces[0].labels["team"], "a");
    let api = &inputs.topology.pods[0];
    assert_eq!(api.display_name(), "prod/deployment/api");
    assert_eq!(api.labels["app"], "api");
    assert_eq!(
        api.named_ports,
        [
            NamedPort {
                name: "dns".into(),
                protocol: Protocol::Udp,
                port: 53
            },
            NamedPort {
                name: "http".into(),
                protocol: Protocol::Tcp,
                port: 8080
            },
        ]
    );
    assert_eq!(inputs.topology.pods[1].display_name(), "default/solo");
    let policy = &inputs.policies[0];
    assert_eq!(policy.display_name(), "other/deny");
    assert_eq!(policy.source.file, Path::new("mixed.yaml"));
    assert_eq!((policy.source.document, policy.source.item), (3, Some(0)));
    assert_eq!(
        policy.source.line,
        Some(28),
        "the line where the List document starts"
    );
}

#[test]
fn json_is_accepted() {
    let text = r#"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p"},"spec":{"podSelector":{}}}"#;
    let inputs = Inputs::from_yaml("p.json", text).unwrap();
    assert_eq!(inputs.policies.len(), 1);
}

#[test]
fn bad_yaml_reports_its_position() {
    let errors = Inputs::from_yaml("bad.yaml", "kind: Pod\nmetadata: {name: [}\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, Path::new("bad.yaml"));
    assert_eq!(errors[0].position.map(|p| p.0), Some(2));
}

#[test]
fn undeserializable_object_names_its_document() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{ports: [{endPort: abc}]}]}\n";
    let errors = Inputs::from_yaml("p.yaml", text).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].document, Some(1));
    assert_eq!(errors[0].position, Some((5, 1)));
    assert!(
        errors[0]
            .message
            .contains("NetworkPolicy `p` does not deserialize"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0]
            .to_string()
            .starts_with("p.yaml:5:1, document 2: "),
        "{}",
        errors[0]
    );
}

#[test]
fn wrong_api_version_is_an_error_not_a_silent_skip() {
    let text = "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p}\n";
    let errors = Inputs::from_yaml("p.yaml", text).unwrap_err();
    assert!(errors[0].message.contains("only `networking.k8s.io/v1`"));
}

#[test]
fn a_directory_is_loaded_recursively_and_sorted() {
    let dir = std::env::temp_dir().join(format!("zero-trust-eval-load-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("b.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sub/a.yml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not: [yaml").unwrap();
    let inputs = load_dir(&dir);
    std::fs::write(dir.join("c.json"), "{").unwrap();
    let broken = load_dir(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let names: Vec<_> = inputs
        .unwrap()
        .topology
        .namespaces
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["b", "a"]);
    assert!(broken.unwrap_err()[0].file.ends_with("c.json"));
}

/// A fresh folder under the system temp dir, removed by the caller.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zero-trust-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `f` on another thread and fails the test, rather than hang it, after `seconds`.
fn within<T: Send + 'static>(seconds: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(f()));
    receive
        .recv_timeout(std::time::Duration::from_secs(seconds))
        .expect("took too long")
}

#[test]
fn deep_flow_nesting_fails_fast_naming_file_document_and_line() {
    // 100,000 levels, 600 KB: 37 s to fail when the parser saw it.
    let deep = "{a: ".repeat(100_000) + &"}".repeat(100_000);
    let text = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: a}}\n---\nx: {deep}\n");
    let started = std::time::Instant::now();
    let errors = Inputs::from_yaml("deep.yaml", &text).unwrap_err();
    assert!(
        started.elapsed().as_secs_f64() < 2.0,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].document, Some(1));
    assert_eq!(
        errors[0].position,
        Some((5, 4 + 4 * crate::yaml::MAX_FLOW_DEPTH))
    );
    assert!(
        errors[0].message.contains("nest deeper than 100"),
        "{}",
        errors[0]
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_named_yaml_is_reported_and_never_opened() {
    let dir = scratch("fifo");
    std::fs::write(
        dir.join("a.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("pipe.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let walked = dir.clone();
    let errors = within(10, move || load_dir(&walked)).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].file.ends_with("pipe.yaml"));
    assert!(
        errors[0]
            .message
            .starts_with("is a FIFO, not a regular file"),
        "{}",
        errors[0]
    );
}

#[cfg(unix)]
#[test]
fn each_file_is_read_once_and_a_symlink_loop_is_reported_once() {
    use std::os::unix::fs::symlink;
    let dir = scratch("links");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("sub/a.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    // A second name for the file and for its folder: read once, quietly.
    symlink("sub/a.yaml", dir.join("alias.yaml")).unwrap();
    symlink("sub", dir.join("again")).unwrap();
    let inputs = within(10, {
        let dir = dir.clone();
        move || load_dir(&dir)
    });
    let names: Vec<_> = inputs
        .unwrap()
        .topology
        .namespaces
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["a"]);
    // A link back up: each file was read 41 times, until the path grew too long.
    symlink("..", dir.join("sub/up")).unwrap();
    let errors = within(10, {
        let dir = dir.clone();
        move || load_dir(&dir)
    })
    .unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].file.ends_with("up"), "{}", errors[0]);
    assert!(
        errors[0].message.starts_with("symlink loop"),
        "{}",
        errors[0]
    );
}

#[test]
fn an_alias_bomb_names_file_document_and_line() {
    let mut text = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let errors = within(30, move || Inputs::from_yaml("bomb.yaml", &text)).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].document, errors[0].position),
        (Some(1), Some((5, 1))),
        "{}",
        errors[0]
    );
    assert!(errors[0].message.contains("aliases"), "{}", errors[0]);
}

#[test]
fn a_key_that_is_not_a_string_names_file_document_and_line() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\nmetadata:\n  [a, b]: c\n";
    let errors = Inputs::from_yaml("key.yaml", text).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].document, Some(1), "{}", errors[0]);
    assert_eq!(errors[0].position.map(|p| p.0), Some(7), "{}", errors[0]);
}

#[test]
fn invalid_utf8_names_file_document_and_line() {
    let dir = scratch("utf8");
    let mut bytes =
        b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b"
            .to_vec();
    bytes.extend([0xff, b'}', b'\n']);
    std::fs::write(dir.join("latin1.yaml"), bytes).unwrap();
    let errors = load_dir(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].document, errors[0].position),
        (Some(1), Some((6, 19)))
    );
    assert!(
        errors[0]
            .to_string()
            .contains("latin1.yaml:6:19, document 2: byte 0xff is not UTF-8"),
        "{}",
        errors[0]
    );
}

/// The messages of what `text` cannot load, as `file:line:column, document N[, item I]: ...`.
fn load_errors(text: &str) -> Vec<String> {
    Inputs::from_yaml("in.yaml", text)
        .expect_err("must not load")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_list_item_without_kind_is_of_the_lists_item_kind() {
    // As `kubectl get namespaces -o json` against the API prints it: items without kind.
    let namespaces = r#"{"apiVersion":"v1","kind":"NamespaceList","items":[
        {"metadata":{"name":"web","labels":{"team":"shop"}}}]}"#;
    let inputs = Inputs::from_yaml("ns.json", namespaces).unwrap();
    assert_eq!(inputs.topology.namespaces[0].labels["team"], "shop");
    assert_eq!(
        inputs.namespace_sources["web"].to_string(),
        "ns.json, document 1, line 1, item 0"
    );

    // The label decides a verdict: only namespaces of team shop may reach prod/api.
    let policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: prod}\nspec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: shop}}}]}]\n";
    let verdict = |namespaces: &str| {
        let mut inputs = Inputs::default();
        load_str(&mut inputs, Path::new("ns.json"), namespaces).unwrap();
        load_str(&mut inputs, Path::new("p.yaml"), policy).unwrap();
        let analysis = Analysis::new(&inputs).unwrap();
        let web = analysis.class_of_other_pod("web").unwrap();
        let prod = analysis.class_of_other_pod("prod").unwrap();
        analysis.verdict(web, prod).end_to_end.is_empty()
    };
    assert!(!verdict(namespaces), "web carries team=shop: allowed");
    let unlabelled =
        r#"{"apiVersion":"v1","kind":"NamespaceList","items":[{"metadata":{"name":"web"}}]}"#;
    assert!(verdict(unlabelled), "without the label: denied");
}

#[test]
fn what_is_not_an_object_is_reported_never_skipped() {
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n";
    assert_eq!(
        load_errors(&format!(
            "{namespace}- kind: Namespace\n  metadata: {{name: b}}\n"
        )),
        [
            "in.yaml:5:1, document 2: the document is a sequence (a YAML list), not a Kubernetes \
          object; write each object as a mapping with `kind` and `apiVersion`, one per \
          document (`---`) or as `items:` of a `kind: List`"
        ]
    );
    let scalar = load_errors(&format!("{namespace}just text\n"));
    assert!(
        scalar[0]
            .starts_with("in.yaml:5:1, document 2: the document is the string `just text`, not"),
        "{scalar:?}"
    );
    assert_eq!(
        load_errors("apiVersion: v1\nkind: List\nitems: {a: b}\n"),
        [
            "in.yaml:1:1, document 1: `items` of this List is a mapping, not a sequence; a List \
          holds its objects as a sequence under `items:`"
        ]
    );
    assert_eq!(
        load_errors("apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n- 7\n"),
        [
            "in.yaml:1:1, document 1, item 0: the item has no `kind`; an item of a plain `List` \
             names its kind (and `apiVersion`)",
            "in.yaml:1:1, document 1, item 1: the item is the scalar `7`, not a Kubernetes \
             object; write each object as a mapping with `kind` and `apiVersion`, one per \
             document (`---`) or as `items:` of a `kind: List`"
        ]
    );
    assert_eq!(
        load_errors("metadata: {name: a}\n"),
        [
            "in.yaml:1:1, document 1: the object has no `kind`; every Kubernetes object names its \
          `kind` and `apiVersion`"
        ]
    );
}

#[test]
fn a_spec_less_policy_isolates_for_ingress_and_a_policy_declared_twice_is_an_error() {
    let policy = |name: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: prod}}\nspec: {{podSelector: {{}}}}\n"
        )
    };
    // As the API server reads it: the zero spec, policyTypes defaulted to Ingress.
    let spec_less = Inputs::from_yaml(
        "in.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: prod}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: prod, labels: {app: web}}\n",
    )
    .unwrap();
    let analysis = crate::eval::Analysis::new(&spec_less).unwrap();
    let web = analysis.class_of_pod("prod", "web").unwrap();
    assert!(analysis.is_isolated(web, crate::eval::Direction::Ingress));
    assert!(!analysis.is_isolated(web, crate::eval::Direction::Egress));
    let mut inputs = Inputs::default();
    load_str(&mut inputs, Path::new("a.yaml"), &policy("deny")).unwrap();
    let twice = load_str(
        &mut inputs,
        Path::new("b.yaml"),
        &format!("{}---\n{}", policy("other"), policy("deny")),
    )
    .unwrap_err();
    assert_eq!(
        twice.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "b.yaml:6:1, document 2: NetworkPolicy `prod/deny` is declared twice, here and at \
          a.yaml, document 1, line 1; only one object of a namespace and name can exist in a \
          cluster: rename or remove one"
        ]
    );
}

#[test]
fn kinds_without_pods_or_policies_are_listed_as_skipped() {
    let inputs = Inputs::from_yaml("mixed.yaml", MIXED).unwrap();
    let skipped: Vec<String> = inputs.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        ["ConfigMap `ignored` (mixed.yaml, document 3, line 24)"]
    );
}

const CONTROLLERS: &str = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: ops}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec: {containers: [{name: c, ports: [{containerPort: 9000}]}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: ops}
spec:
  template:
    metadata: {labels: {app: migrate}}
    spec: {containers: [{name: c}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: ops
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{containerPort: 53, protocol: UDP, name: dns}]}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy, namespace: ops}
spec:
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c}]}
"#;

#[test]
fn every_controller_kind_gives_its_pod_template() {
    let inputs = Inputs::from_yaml("c.yaml", CONTROLLERS).unwrap();
    let pods: Vec<String> = inputs
        .topology
        .pods
        .iter()
        .map(|p| format!("{} {:?}", p.display_name(), p.labels))
        .collect();
    assert_eq!(
        pods,
        [
            "ops/cronjob/backup {\"app\": \"backup\"}",
            "ops/job/migrate {\"app\": \"migrate\"}",
            "ops/replicaset/web-5d8f {\"app\": \"web\"}",
            "ops/replicationcontroller/legacy {\"app\": \"legacy\"}",
        ]
    );
    assert_eq!(
        inputs.pod_sources[0].container_ports,
        [(Protocol::Tcp, 9000)]
    );
    assert_eq!(inputs.pod_sources[2].container_ports, [(Protocol::Udp, 53)]);
    assert_eq!(
        inputs.pod_sources[2].controller,
        Some(("Deployment".to_owned(), "web".to_owned()))
    );
    assert_eq!(inputs.pod_sources[3].source.document, 3);
}

#[test]
fn a_pod_template_without_labels_is_an_error() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: ops}\nspec:\n  selector: {}\n  template: {spec: {containers: [{name: c}]}}\n";
    assert_eq!(
        load_errors(text),
        [
            "in.yaml:1:1, document 1: Deployment `web` has a pod template without labels \
          (`spec.template.metadata.labels`); give its pods the labels its selector and the \
          policies select them by"
        ]
    );
}
