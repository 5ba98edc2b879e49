//! Loading NetworkPolicies, Namespaces, Pods and workloads from YAML or JSON files.
//!
//! Accepts multi-document streams, `kind: List` (and `*List`) objects with `items`, and
//! JSON. A Deployment, StatefulSet or DaemonSet contributes one representative pod: the
//! labels and named ports of its pod template, which is all a NetworkPolicy can see of it.
//! Other kinds are skipped. Every failure names the file, the document and, where known,
//! the line and column; nothing here panics on bad input.

use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::de::DeserializeOwned;
use serde_json::Value;
use zero_trust_rules::Protocol;

use super::topology::{Inputs, LoadedPolicy, NamedPort, NamespaceInfo, PodInfo, Provenance};
use crate::yaml;

/// A file that could not be read, parsed or understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 0-based document of the stream, when the file parsed far enough to know it.
    pub document: Option<usize>,
    pub item: Option<usize>,
    /// 1-based line and column: of a YAML syntax error, or, for an object that does not
    /// deserialize, the first line of its document (column 1).
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(document) = self.document {
            write!(f, ", document {}", document + 1)?;
        }
        if let Some(item) = self.item {
            write!(f, ", item {item}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Loads every `*.yaml`, `*.yml` and `*.json` file under `dir` (recursively, in path order).
pub fn load_dir(dir: &Path) -> Result<Inputs, Vec<LoadError>> {
    let mut files = Vec::new();
    collect_files(dir, &mut files).map_err(|e| vec![io_error(dir, &e)])?;
    files.sort();
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    for file in files {
        if let Err(mut e) = load_file(&mut inputs, &file) {
            errors.append(&mut e);
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            files.push(path);
        }
    }
    Ok(())
}

fn io_error(file: &Path, error: &std::io::Error) -> LoadError {
    LoadError {
        file: file.to_owned(),
        document: None,
        item: None,
        position: None,
        message: format!("cannot read: {error}"),
    }
}

/// Reads one file into `inputs`.
pub fn load_file(inputs: &mut Inputs, file: &Path) -> Result<(), Vec<LoadError>> {
    let text = std::fs::read_to_string(file).map_err(|e| vec![io_error(file, &e)])?;
    load_str(inputs, file, &text)
}

/// Reads YAML or JSON text into `inputs`; `file` is only used to say where things came from.
pub fn load_str(inputs: &mut Inputs, file: &Path, text: &str) -> Result<(), Vec<LoadError>> {
    let documents = yaml::parse_documents(text).map_err(|e| {
        vec![LoadError {
            file: file.to_owned(),
            document: None,
            item: None,
            position: e.position,
            message: e.message,
        }]
    })?;
    let starts = document_start_lines(text, documents.len());
    let mut errors = Vec::new();
    for (document, value) in documents.into_iter().enumerate() {
        let source = Provenance {
            file: file.to_owned(),
            document,
            item: None,
            line: starts.as_ref().map(|s| s[document]),
        };
        match list_items(value) {
            Ok(items) => {
                for (item, value) in items.into_iter().enumerate() {
                    let source = Provenance {
                        item: Some(item),
                        ..source.clone()
                    };
                    if let Err(e) = load_object(inputs, value, &source) {
                        errors.push(e);
                    }
                }
            }
            Err(value) => {
                if let Err(e) = load_object(inputs, value, &source) {
                    errors.push(e);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `Ok(items)` for `kind: List` or `kind: XxxList` with an `items` array, else the object.
fn list_items(value: Value) -> Result<Vec<Value>, Value> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array);
    if !is_list {
        return Err(value);
    }
    match value {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => Ok(items),
            _ => Ok(Vec::new()),
        },
        other => Err(other),
    }
}

/// The 1-based first line of each non-empty document, if a simple scan of `---` markers
/// finds exactly `count` of them (it cannot always: a marker may sit inside a quoted
/// string); positions are only reported when they are certain to be right.
fn document_start_lines(text: &str, count: usize) -> Option<Vec<usize>> {
    let mut starts = Vec::new();
    let mut current: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") || trimmed == "..." {
            current = None;
            continue;
        }
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if current.is_none() {
            current = Some(index + 1);
            starts.push(index + 1);
        }
    }
    (starts.len() == count).then_some(starts)
}

fn load_object(inputs: &mut Inputs, value: Value, source: &Provenance) -> Result<(), LoadError> {
    let error = |message: String| LoadError {
        file: source.file.clone(),
        document: Some(source.document),
        item: source.item,
        position: source.line.map(|line| (line, 1)),
        message,
    };
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let expected = match kind.as_str() {
        "NetworkPolicy" => "networking.k8s.io/v1",
        "Namespace" | "Pod" => "v1",
        "Deployment" | "StatefulSet" | "DaemonSet" => "apps/v1",
        _ => return Ok(()),
    };
    if api_version != expected {
        return Err(error(format!(
            "{kind} has apiVersion `{api_version}`; only `{expected}` is understood"
        )));
    }
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let what = format!("{kind} `{name}`");
    match kind.as_str() {
        "NetworkPolicy" => {
            let policy: NetworkPolicy = typed(value, &what).map_err(error)?;
            inputs.topology_mut_note_namespace(super::topology::policy_namespace(&policy));
            inputs.policies.push(LoadedPolicy {
                policy,
                source: source.clone(),
            });
        }
        "Namespace" => {
            let namespace: Namespace = typed(value, &what).map_err(error)?;
            let name = namespace
                .metadata
                .name
                .clone()
                .ok_or_else(|| error("Namespace has no `metadata.name`".into()))?;
            let labels = namespace.metadata.labels.clone().unwrap_or_default();
            let topology = &mut inputs.topology;
            match topology.namespaces.iter_mut().find(|n| n.name == name) {
                // A namespace first seen through a pod or policy had no labels yet.
                Some(existing) if existing.labels.is_empty() => existing.labels = labels,
                Some(_) => return Err(error(format!("Namespace `{name}` is declared twice"))),
                None => topology.namespaces.push(NamespaceInfo { name, labels }),
            }
        }
        "Pod" => {
            let pod: Pod = typed(value, &what).map_err(error)?;
            let ports = pod
                .spec
                .as_ref()
                .map(named_ports)
                .transpose()
                .map_err(|e| error(format!("{what}: {e}")))?;
            add_pod(
                inputs,
                &pod.metadata,
                "Pod",
                pod.metadata.labels.clone().unwrap_or_default(),
                ports.unwrap_or_default(),
            )
            .map_err(error)?;
        }
        "Deployment" => {
            let workload: Deployment = typed(value, &what).map_err(error)?;
            let template = workload.spec.as_ref().map(|s| &s.template);
            add_workload(inputs, &workload.metadata, &kind, template).map_err(error)?;
        }
        "StatefulSet" => {
            let workload: StatefulSet = typed(value, &what).map_err(error)?;
            let template = workload.spec.as_ref().map(|s| &s.template);
            add_workload(inputs, &workload.metadata, &kind, template).map_err(error)?;
        }
        "DaemonSet" => {
            let workload: DaemonSet = typed(value, &what).map_err(error)?;
            let template = workload.spec.as_ref().map(|s| &s.template);
            add_workload(inputs, &workload.metadata, &kind, template).map_err(error)?;
        }
        _ => {}
    }
    Ok(())
}

fn typed<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, String> {
    yaml::from_value(value).map_err(|e| format!("{what} does not deserialize: {e}"))
}

impl Inputs {
    /// Makes sure a namespace that something lives in is part of the topology.
    fn topology_mut_note_namespace(&mut self, name: &str) {
        if !self.topology.namespaces.iter().any(|n| n.name == name) {
            self.topology.namespaces.push(NamespaceInfo::named(name));
        }
    }

    /// Loads YAML or JSON text; convenient in tests and for stdin.
    pub fn from_yaml(file: &str, text: &str) -> Result<Inputs, Vec<LoadError>> {
        let mut inputs = Inputs::default();
        load_str(&mut inputs, Path::new(file), text)?;
        Ok(inputs)
    }
}

fn add_workload(
    inputs: &mut Inputs,
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: &str,
    template: Option<&PodTemplateSpec>,
) -> Result<(), String> {
    let labels = template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let ports = template
        .and_then(|t| t.spec.as_ref())
        .map(named_ports)
        .transpose()?
        .unwrap_or_default();
    add_pod(inputs, metadata, kind, labels, ports)
}

fn add_pod(
    inputs: &mut Inputs,
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: &str,
    labels: super::selector::Labels,
    named_ports: Vec<NamedPort>,
) -> Result<(), String> {
    let name = metadata.name.clone().ok_or_else(|| {
        format!("{kind} has no `metadata.name`; give it one so results can name it")
    })?;
    let namespace = metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    if inputs
        .topology
        .pods
        .iter()
        .any(|p| p.kind == kind && p.namespace == namespace && p.name == name)
    {
        return Err(format!("{kind} `{namespace}/{name}` is declared twice"));
    }
    inputs.topology_mut_note_namespace(&namespace);
    inputs.topology.pods.push(PodInfo {
        namespace,
        name,
        kind: kind.to_owned(),
        labels,
        named_ports,
    });
    Ok(())
}

/// The named container ports of a pod spec (sidecars in `initContainers` included); the
/// protocol defaults to TCP as `ContainerPort.protocol` documents.
fn named_ports(spec: &PodSpec) -> Result<Vec<NamedPort>, String> {
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    let mut ports = Vec::new();
    for port in containers.flat_map(|c| c.ports.iter().flatten()) {
        let Some(name) = &port.name else { continue };
        let protocol_text = port.protocol.as_deref().unwrap_or("TCP");
        let protocol = Protocol::from_k8s(protocol_text).ok_or_else(|| {
            format!("container port `{name}` has protocol `{protocol_text}`; use TCP, UDP or SCTP")
        })?;
        let number = u16::try_from(port.container_port)
            .ok()
            .filter(|&p| p >= 1)
            .ok_or_else(|| {
                format!(
                    "container port `{name}` is {}; ports are 1 to 65535",
                    port.container_port
                )
            })?;
        ports.push(NamedPort {
            name: name.clone(),
            protocol,
            port: number,
        });
    }
    ports.sort();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
