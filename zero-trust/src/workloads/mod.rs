//! The policies against the real workloads: the pod templates of manifests (a folder, a
//! file, standard input, or a live cluster through `kubectl`), checked against what the
//! policies select ([`checks`]), the emitted YAML proven on them ([`proof`]), and the live
//! cluster's managed policies compared with `k8s/` ([`drift`]).
//!
//! Manifests are read by the one loader, [`crate::eval::load`]: the same objects, Lists
//! and errors as `verify` everywhere else.

pub mod checks;
pub mod drift;
pub mod kubectl;
pub mod proof;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use crate::eval::{Inputs, LoadError, PodInfo, PodSource, load_dir, load_file};
use crate::model::Namespace;

pub use checks::{Mode, check, named_ports_are_defined};

/// How much a finding matters: an error fails `verify` and `emit`, a warning is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding of the checks: what, where, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{word}: {}", self.message)
    }
}

/// The pod templates and namespaces of manifests, as the loader read them.
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    pub inputs: Inputs,
    /// Namespace -> indexes of its templates, so a check per workload reads only its
    /// namespace's templates, not every template of the cluster.
    by_namespace: HashMap<String, Vec<usize>>,
}

/// One pod template: the evaluator's view of it and where it was read.
pub struct Template<'a> {
    pub pod: &'a PodInfo,
    pub source: &'a PodSource,
}

impl fmt::Display for Template<'_> {
    /// `prod-api/deployment/main-api (deploy/prod-api.yaml, document 2, line 8)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.pod.display_name(), self.source.source)
    }
}

impl Workloads {
    /// The workloads of loaded manifests. Objects whose controller is among them (the
    /// ReplicaSets of a Deployment, their Pods, the Jobs of a CronJob, as a live cluster
    /// lists them) stand for the same pods as their controller, and are left out.
    pub fn new(mut inputs: Inputs) -> Workloads {
        let present: HashSet<(String, String, String)> = inputs
            .topology
            .pods
            .iter()
            .map(|p| (p.namespace.clone(), p.kind.clone(), p.name.clone()))
            .collect();
        let mut sources = std::mem::take(&mut inputs.pod_sources);
        sources.resize(inputs.topology.pods.len(), PodSource::default());
        let (pods, sources): (Vec<PodInfo>, Vec<PodSource>) =
            std::mem::take(&mut inputs.topology.pods)
                .into_iter()
                .zip(sources)
                .filter(|(pod, source)| {
                    !source.controller.as_ref().is_some_and(|(kind, name)| {
                        present.contains(&(pod.namespace.clone(), kind.clone(), name.clone()))
                    })
                })
                .unzip();
        inputs.topology.pods = pods;
        inputs.pod_sources = sources;
        let mut workloads = Workloads {
            inputs,
            by_namespace: HashMap::new(),
        };
        workloads.index();
        workloads
    }

    fn index(&mut self) {
        self.by_namespace.clear();
        for (index, pod) in self.inputs.topology.pods.iter().enumerate() {
            let entry = self.by_namespace.entry(pod.namespace.clone()).or_default();
            entry.push(index);
        }
    }

    /// Reads a folder (recursively, as `verify` reads one) or a single file.
    pub fn read(path: &Path) -> Result<Workloads, Vec<LoadError>> {
        let inputs = if path.is_dir() {
            load_dir(path)?
        } else {
            let mut inputs = Inputs::default();
            load_file(&mut inputs, path)?;
            inputs
        };
        Ok(Workloads::new(inputs))
    }

    /// Reads manifests given as text (standard input, `helm template` output).
    pub fn from_text(name: &str, text: &str) -> Result<Workloads, Vec<LoadError>> {
        Ok(Workloads::new(Inputs::from_yaml(name, text)?))
    }

    /// Adds the objects of `other` (another folder of the same project).
    pub fn extend(&mut self, other: Workloads) {
        let inputs = other.inputs;
        for namespace in inputs.topology.namespaces {
            match self
                .inputs
                .topology
                .namespaces
                .iter_mut()
                .find(|n| n.name == namespace.name)
            {
                Some(existing) if existing.labels.is_empty() => existing.labels = namespace.labels,
                Some(_) => {}
                None => self.inputs.topology.namespaces.push(namespace),
            }
        }
        self.inputs.policies.extend(inputs.policies);
        self.inputs.topology.pods.extend(inputs.topology.pods);
        self.inputs.pod_sources.extend(inputs.pod_sources);
        self.inputs
            .namespace_sources
            .extend(inputs.namespace_sources);
        self.inputs.skipped.extend(inputs.skipped);
        self.inputs.skipped_count += inputs.skipped_count;
        self.index();
    }

    pub fn templates(&self) -> impl Iterator<Item = Template<'_>> {
        self.inputs
            .topology
            .pods
            .iter()
            .zip(&self.inputs.pod_sources)
            .map(|(pod, source)| Template { pod, source })
    }

    /// The templates of the model's namespace: those of the namespace it names, or for a
    /// label-selected one (`external namespaces`), of every namespace its selector matches.
    pub fn templates_of<'a>(&'a self, namespace: &Namespace) -> Vec<Template<'a>> {
        self.namespaces_of(namespace)
            .into_iter()
            .flat_map(|name| self.templates_in(name))
            .collect()
    }

    /// The namespaces of the manifests (or cluster) that the model's namespace stands for:
    /// those declared or holding templates.
    pub fn namespaces_of<'a>(&'a self, namespace: &Namespace) -> Vec<&'a str> {
        let declared = self.inputs.topology.namespaces.iter().map(|n| {
            let labels: Vec<(&str, &str)> = n
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            (n.name.as_str(), labels)
        });
        let with_pods_only = self
            .by_namespace
            .keys()
            .filter(|name| {
                !self
                    .inputs
                    .topology
                    .namespaces
                    .iter()
                    .any(|n| &n.name == *name)
            })
            .map(|name| (name.as_str(), Vec::new()));
        let mut names: Vec<&str> = declared
            .chain(with_pods_only)
            .filter(|(name, labels)| namespace.selects_namespace(name, labels))
            .map(|(name, _)| name)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn templates_in<'a>(&'a self, namespace: &str) -> impl Iterator<Item = Template<'a>> {
        let indexes = self.by_namespace.get(namespace).map(Vec::as_slice);
        indexes.unwrap_or_default().iter().filter_map(|&index| {
            Some(Template {
                pod: self.inputs.topology.pods.get(index)?,
                source: self.inputs.pod_sources.get(index)?,
            })
        })
    }
}

/// The NetworkPolicies of emitted files (file name -> text), as `emit` holds them before
/// writing `k8s/`.
pub fn emitted_policies(
    files: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<crate::eval::LoadedPolicy>, Vec<String>> {
    crate::diff::load_manifests("k8s", files)
}
