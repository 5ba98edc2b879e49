//! What one document contributes: a Kubernetes object, or the items of a `List`.
//!
//! The rule is that every object is understood or reported, never dropped without a word:
//! - a NetworkPolicy is kept (its namespace and name must be unique: only one of two such
//!   objects can exist in a cluster). One without `spec` is kept too, as the API server
//!   reads it: `spec` is `omitempty` in `k8s.io/api/networking/v1/types.go`, so the object
//!   has the zero spec, whose empty `podSelector` selects every pod of the namespace and
//!   whose `policyTypes` default to `[Ingress]` (`SetDefaults_NetworkPolicy`): it isolates
//!   them all for ingress;
//! - a Namespace gives its labels;
//! - a Pod, and the pod template of a Deployment, StatefulSet, DaemonSet, ReplicaSet,
//!   ReplicationController, Job or CronJob, gives one representative pod: the labels and
//!   container ports of its template, which is all a NetworkPolicy can see of it;
//! - an object of any other kind (Service, ConfigMap, ...) carries neither, and is listed
//!   in [`Inputs::skipped`];
//! - a document that is no object (a bare sequence, a scalar), an object without `kind`,
//!   a List whose `items` is not a sequence: errors.
//!
//! A `List` item without its own `kind` is an object of the List's item kind, as the API
//! server prints them (`NamespaceList` items are Namespaces, in the List's `apiVersion`).

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod, PodSpec, PodTemplateSpec, ReplicationController};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::Value;
use zero_trust_rules::{FIRST_PORT, LAST_PORT, Protocol};

use super::LoadError;
use crate::eval::selector::Labels;
use crate::eval::topology::{
    Inputs, LoadedPolicy, NamedPort, NamespaceInfo, PodInfo, PodSource, Provenance, SKIPPED_LISTED,
    Skipped, policy_namespace,
};
use crate::yaml;

/// The kinds read, each with the one `apiVersion` understood for it.
const KINDS: &[(&str, &str)] = &[
    ("NetworkPolicy", "networking.k8s.io/v1"),
    ("Namespace", "v1"),
    ("Pod", "v1"),
    ("ReplicationController", "v1"),
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("DaemonSet", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
    ("Job", "batch/v1"),
    ("CronJob", "batch/v1"),
];

/// Loads one document: an object, or each item of a List.
pub(super) fn load_document(
    inputs: &mut Inputs,
    value: Value,
    source: &Provenance,
    errors: &mut Vec<LoadError>,
) {
    let mut report = |source: &Provenance, result: Result<(), String>| {
        if let Err(message) = result {
            errors.push(error_at(source, message));
        }
    };
    let Value::Object(mut object) = value else {
        return report(source, Err(not_an_object(&value, "the document")));
    };
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let is_list = kind.ends_with("List") && (kind == "List" || object.contains_key("items"));
    if !is_list {
        return report(source, load_object(inputs, Value::Object(object), source));
    }
    let kind = kind.to_owned();
    // `NamespaceList` holds Namespaces; a plain `List` says nothing of its items.
    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
    let api_version = object.get("apiVersion").cloned();
    let items = match object.remove("items") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            let message = format!(
                "`items` of this {kind} is {}, not a sequence; a List holds its objects as \
                 a sequence under `items:`",
                shape(&other)
            );
            return report(source, Err(message));
        }
        None => {
            let message = format!("this {kind} has no `items`; write `items: []` for none");
            return report(source, Err(message));
        }
    };
    for (item, value) in items.into_iter().enumerate() {
        let source = Provenance {
            item: Some(item),
            ..source.clone()
        };
        let Value::Object(mut object) = value else {
            report(&source, Err(not_an_object(&value, "the item")));
            continue;
        };
        if !object.contains_key("kind") {
            let Some(item_kind) = item_kind else {
                let message = "the item has no `kind`; an item of a plain `List` names its \
                               kind (and `apiVersion`)";
                report(&source, Err(message.to_owned()));
                continue;
            };
            object.insert("kind".into(), Value::String(item_kind.to_owned()));
            if let (false, Some(api_version)) =
                (object.contains_key("apiVersion"), api_version.clone())
            {
                object.insert("apiVersion".into(), api_version);
            }
        }
        report(&source, load_object(inputs, Value::Object(object), &source));
    }
}

fn not_an_object(value: &Value, what: &str) -> String {
    format!(
        "{what} is {}, not a Kubernetes object; write each object as a mapping with `kind` \
         and `apiVersion`, one per document (`---`) or as `items:` of a `kind: List`",
        shape(value)
    )
}

/// A value's shape in words, for messages.
fn shape(value: &Value) -> String {
    match value {
        Value::Array(_) => "a sequence (a YAML list)".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
        Value::Null => "empty (null)".to_owned(),
        Value::String(text) if text.chars().count() <= 40 => format!("the string `{text}`"),
        Value::String(_) => "a string".to_owned(),
        scalar => format!("the scalar `{scalar}`"),
    }
}

pub(super) fn error_at(source: &Provenance, message: String) -> LoadError {
    LoadError {
        file: source.file.clone(),
        document: Some(source.document),
        item: source.item,
        position: source.line.map(|line| (line, 1)),
        message,
    }
}

fn load_object(inputs: &mut Inputs, value: Value, source: &Provenance) -> Result<(), String> {
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (kind, api_version, name) = (text("/kind"), text("/apiVersion"), text("/metadata/name"));
    if kind.is_empty() {
        return Err(
            "the object has no `kind`; every Kubernetes object names its `kind` and `apiVersion`"
                .to_owned(),
        );
    }
    let Some(&(_, expected)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        let name = match text("/metadata/namespace") {
            namespace if namespace.is_empty() => name,
            namespace => format!("{namespace}/{name}"),
        };
        inputs.skipped_count += 1;
        if inputs.skipped.len() < SKIPPED_LISTED {
            inputs.skipped.push(Skipped {
                kind,
                name,
                source: source.clone(),
            });
        }
        return Ok(());
    };
    if api_version != expected {
        return Err(format!(
            "{kind} has apiVersion `{api_version}`; only `{expected}` is understood"
        ));
    }
    let what = format!("{kind} `{name}`");
    let template = |spec: Option<PodTemplateSpec>| {
        let template = spec.ok_or(format!(
            "{what} has no pod template (`spec.template`); give it one"
        ))?;
        Ok::<_, String>((template.metadata.and_then(|m| m.labels), template.spec))
    };
    let (metadata, (labels, spec)) = match kind.as_str() {
        "NetworkPolicy" => return add_policy(inputs, typed(value, &what)?, source),
        "Namespace" => return add_namespace(inputs, typed(value, &what)?, source),
        "Pod" => {
            // A bare pod may have no labels: policies can still select it with `{}`.
            let pod: Pod = typed(value, &what)?;
            let labels = pod.metadata.labels.clone().unwrap_or_default();
            let ports = pod.spec.as_ref().map(container_ports).transpose();
            let ports = ports.map_err(|e| format!("{what}: {e}"))?;
            let ports = ports.unwrap_or_default();
            return add_pod(inputs, pod.metadata, &kind, labels, ports, source);
        }
        "Deployment" => {
            let object: Deployment = typed(value, &what)?;
            (object.metadata, template(object.spec.map(|s| s.template))?)
        }
        "StatefulSet" => {
            let object: StatefulSet = typed(value, &what)?;
            (object.metadata, template(object.spec.map(|s| s.template))?)
        }
        "DaemonSet" => {
            let object: DaemonSet = typed(value, &what)?;
            (object.metadata, template(object.spec.map(|s| s.template))?)
        }
        "ReplicaSet" => {
            let object: ReplicaSet = typed(value, &what)?;
            (
                object.metadata,
                template(object.spec.and_then(|s| s.template))?,
            )
        }
        "ReplicationController" => {
            let object: ReplicationController = typed(value, &what)?;
            (
                object.metadata,
                template(object.spec.and_then(|s| s.template))?,
            )
        }
        "Job" => {
            let object: Job = typed(value, &what)?;
            (object.metadata, template(object.spec.map(|s| s.template))?)
        }
        "CronJob" => {
            let object: CronJob = typed(value, &what)?;
            let job = object.spec.and_then(|s| s.job_template.spec);
            (object.metadata, template(job.map(|s| s.template))?)
        }
        other => return Err(format!("{other} is listed in KINDS but not read")),
    };
    // A controller's pods carry exactly its template's labels; without any, no selector
    // of a NetworkPolicy (and no selector of the controller) can pick them.
    let labels = labels.filter(|l| !l.is_empty()).ok_or(format!(
        "{what} has a pod template without labels (`spec.template.metadata.labels`); \
         give its pods the labels its selector and the policies select them by"
    ))?;
    let ports = spec
        .as_ref()
        .map(container_ports)
        .transpose()
        .map_err(|e| format!("{what}: {e}"))?
        .unwrap_or_default();
    add_pod(inputs, metadata, &kind, labels, ports, source)
}

fn typed<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, String> {
    yaml::from_value(value).map_err(|e| format!("{what} does not deserialize: {e}"))
}

fn add_policy(
    inputs: &mut Inputs,
    policy: NetworkPolicy,
    source: &Provenance,
) -> Result<(), String> {
    add_loaded_policy(
        inputs,
        LoadedPolicy {
            policy,
            source: source.clone(),
        },
    )
}

/// Adds a policy read before (from the same text), under the rule of one policy per
/// namespace and name that reading it would check.
pub(super) fn add_loaded_policy(inputs: &mut Inputs, loaded: LoadedPolicy) -> Result<(), String> {
    let namespace = policy_namespace(&loaded.policy).to_owned();
    let key = (
        namespace,
        loaded.policy.metadata.name.clone().unwrap_or_default(),
    );
    if let Some(&first) = inputs.policy_index.get(&key) {
        return Err(format!(
            "NetworkPolicy `{}` is declared twice, here and at {}; only one object of a \
             namespace and name can exist in a cluster: rename or remove one",
            loaded.display_name(),
            inputs.policies[first].source
        ));
    }
    inputs.note_namespace(&key.0);
    inputs.policy_index.insert(key, inputs.policies.len());
    inputs.policies.push(loaded);
    Ok(())
}

fn add_namespace(
    inputs: &mut Inputs,
    namespace: Namespace,
    source: &Provenance,
) -> Result<(), String> {
    let name = namespace
        .metadata
        .name
        .clone()
        .ok_or("Namespace has no `metadata.name`")?;
    if let Some(first) = inputs.namespace_sources.get(&name) {
        return Err(format!(
            "Namespace `{name}` is declared twice, here and at {first}; remove one"
        ));
    }
    inputs
        .namespace_sources
        .insert(name.clone(), source.clone());
    let labels = namespace.metadata.labels.unwrap_or_default();
    let topology = &mut inputs.topology;
    match topology.namespaces.iter_mut().find(|n| n.name == name) {
        // A namespace first seen through a pod or policy had no labels yet.
        Some(existing) => existing.labels = labels,
        None => topology.namespaces.push(NamespaceInfo { name, labels }),
    }
    Ok(())
}

impl Inputs {
    /// Makes sure a namespace that something lives in is part of the topology.
    fn note_namespace(&mut self, name: &str) {
        if !self.topology.namespaces.iter().any(|n| n.name == name) {
            self.topology.namespaces.push(NamespaceInfo::named(name));
        }
    }

    /// Loads YAML or JSON text; convenient in tests and for stdin.
    pub fn from_yaml(file: &str, text: &str) -> Result<Inputs, Vec<LoadError>> {
        let mut inputs = Inputs::default();
        super::load_str(&mut inputs, std::path::Path::new(file), text)?;
        Ok(inputs)
    }
}

/// The ports of a pod spec's containers: every one, and those with a name.
#[derive(Default)]
struct ContainerPorts {
    all: Vec<(Protocol, u16)>,
    named: Vec<NamedPort>,
}

fn add_pod(
    inputs: &mut Inputs,
    metadata: ObjectMeta,
    kind: &str,
    labels: Labels,
    ports: ContainerPorts,
    source: &Provenance,
) -> Result<(), String> {
    let name = metadata.name.ok_or(format!(
        "{kind} has no `metadata.name`; give it one so results can name it"
    ))?;
    let namespace = metadata.namespace.unwrap_or_else(|| "default".to_owned());
    let key = (kind.to_owned(), namespace.clone(), name.clone());
    if !inputs.pod_index.insert(key) {
        return Err(format!(
            "{kind} `{namespace}/{name}` is declared twice; only one can exist in a cluster: \
             rename or remove one"
        ));
    }
    let controller = metadata
        .owner_references
        .into_iter()
        .flatten()
        .find(|owner| owner.controller == Some(true))
        .map(|owner| (owner.kind, owner.name));
    inputs.note_namespace(&namespace);
    inputs.topology.pods.push(PodInfo {
        namespace,
        name,
        kind: kind.to_owned(),
        labels,
        named_ports: ports.named,
    });
    // Pods pushed to the topology by other code have no source: keep the indexes aligned.
    let index = inputs.topology.pods.len() - 1;
    inputs.pod_sources.resize(index, PodSource::default());
    inputs.pod_sources.push(PodSource {
        source: source.clone(),
        container_ports: ports.all,
        controller,
    });
    Ok(())
}

/// The container ports of a pod spec (sidecars in `initContainers` included); the protocol
/// defaults to TCP as `ContainerPort.protocol` documents.
fn container_ports(spec: &PodSpec) -> Result<ContainerPorts, String> {
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    let mut ports = ContainerPorts::default();
    for (container, port) in
        containers.flat_map(|c| c.ports.iter().flatten().map(move |p| (&c.name, p)))
    {
        let what = match &port.name {
            Some(name) => format!("port `{name}` of container `{container}`"),
            None => format!("a port of container `{container}`"),
        };
        let protocol_text = port.protocol.as_deref().unwrap_or("TCP");
        let protocol = Protocol::from_k8s(protocol_text).ok_or(format!(
            "{what} has protocol `{protocol_text}`; use TCP, UDP or SCTP"
        ))?;
        let number = u16::try_from(port.container_port)
            .ok()
            .filter(|&p| p >= FIRST_PORT)
            .ok_or(format!(
                "{what} is {}; ports are {FIRST_PORT} to {LAST_PORT}",
                port.container_port
            ))?;
        ports.all.push((protocol, number));
        if let Some(name) = &port.name {
            ports.named.push(NamedPort {
                name: name.clone(),
                protocol,
                port: number,
            });
        }
    }
    ports.all.sort();
    ports.all.dedup();
    ports.named.sort();
    ports.named.dedup();
    Ok(ports)
}
