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
use zero_trust_rules::{FIRST_PORT, LAST_PORT, Protocol};

use super::topology::{Inputs, LoadedPolicy, NamedPort, NamespaceInfo, PodInfo, Provenance};
use crate::yaml;

mod files;

pub use files::{load_dir, load_file, special_file_kind};

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

/// Reads YAML or JSON text into `inputs`; `file` is only used to say where things came from.
///
/// One document at a time: each is parsed, converted to its typed object and dropped
/// before the next is parsed, so memory is the text plus the objects read, plus one
/// document's parse (a 200 MB stream of NetworkPolicies peaked at 4.7 GiB when the whole
/// stream was first parsed into generic values).
pub fn load_str(inputs: &mut Inputs, file: &Path, text: &str) -> Result<(), Vec<LoadError>> {
    let (outline, documents) =
        yaml::documents(text).map_err(|e| vec![yaml_error(file, e, None)])?;
    // The first lines the pre-scan found, trusted only while its non-empty documents are
    // the parser's: the k-th document yielded must be the k-th with content in the outline.
    let mut nonempty = outline
        .starts
        .iter()
        .enumerate()
        .filter_map(|(document, line)| line.map(|line| (document, line.get())));
    let mut errors = Vec::new();
    for document in documents {
        let (document, value) = match document {
            Ok(document) => document,
            Err(e) => {
                let line = e
                    .document
                    .and_then(|d| outline.starts.get(d).copied().flatten())
                    .map(std::num::NonZeroUsize::get);
                errors.push(yaml_error(file, e, line));
                break;
            }
        };
        let source = Provenance {
            file: file.to_owned(),
            document,
            item: None,
            line: match nonempty.next() {
                Some((d, line)) if d == document => Some(line),
                _ => None,
            },
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

/// A parser error; when the parser knows no position (e.g. aliases that expand too far),
/// the first line of its document stands in.
fn yaml_error(file: &Path, error: yaml::YamlError, document_line: Option<usize>) -> LoadError {
    let message = if error.message.starts_with("repetition limit exceeded") {
        "aliases (`*name`) expand to too many nodes (repetition limit exceeded); \
         write the values out or remove the aliases"
            .to_owned()
    } else {
        error.message
    };
    LoadError {
        file: file.to_owned(),
        document: error.document,
        item: None,
        position: error.position.or(document_line.map(|line| (line, 1))),
        message,
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
            .filter(|&p| p >= FIRST_PORT)
            .ok_or_else(|| {
                format!(
                    "container port `{name}` is {}; ports are {FIRST_PORT} to {LAST_PORT}",
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
mod tests;
