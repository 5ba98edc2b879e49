//! Endpoint classes: every topology pod, "another pod" of every namespace, "a pod in a
//! namespace nobody names", and the address classes; plus the label index that finds the
//! pods and namespaces a selector picks without scanning everything.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use zero_trust_rules::NAMESPACE_NAME_LABEL;

use super::addresses::{AddressClass, AddressSpace};
use super::selector::{Labels, Requirement, Selector};
use super::topology::{NamedPort, PodInfo, Topology};

/// Identifies an endpoint class of an [`super::Analysis`]: pods first, then addresses.
pub type ClassId = u32;

/// Stands for a namespace that no policy, selector or topology names. Not a valid label
/// value, so no `In` requirement can match it, while `Exists` and `NotIn` still do.
const UNNAMED_NAMESPACE: &str = "<a namespace nobody names>";

/// What an endpoint class stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointClass {
    /// A pod of the topology (or the representative pod of a workload).
    Pod(PodInfo),
    /// Any pod of this namespace that is not in the topology; modelled as a pod with no
    /// labels and no named ports.
    OtherPodIn {
        namespace: String,
    },
    /// A pod in a namespace that is neither in the topology nor named by any policy;
    /// the namespace has only its `kubernetes.io/metadata.name` label, the pod none.
    PodInUnnamedNamespace,
    Address(AddressClass),
}

impl EndpointClass {
    pub fn is_address(&self) -> bool {
        matches!(self, EndpointClass::Address(_))
    }
}

impl fmt::Display for EndpointClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointClass::Pod(pod) => f.write_str(&pod.display_name()),
            EndpointClass::OtherPodIn { namespace } => write!(f, "{namespace}/<any other pod>"),
            EndpointClass::PodInUnnamedNamespace => f.write_str("<any pod of any other namespace>"),
            EndpointClass::Address(address) => address.fmt(f),
        }
    }
}

/// A namespace as selectors see it.
#[derive(Clone, Debug)]
pub(crate) struct NamespaceClass {
    pub labels: Labels,
    pub pods: Vec<ClassId>,
}

/// A pod class as selectors and named ports see it.
#[derive(Clone, Debug)]
pub(crate) struct PodClass {
    pub namespace: u32,
    pub labels: Labels,
    pub named_ports: Vec<NamedPort>,
}

/// All endpoint classes and the indexes to select among them.
#[derive(Clone, Debug)]
pub(crate) struct Universe {
    pub classes: Vec<EndpointClass>,
    pub namespaces: Vec<NamespaceClass>,
    pub namespace_ids: HashMap<String, u32>,
    pub pods: Vec<PodClass>,
    pub addresses: AddressSpace,
    /// The namespaces of the topology (its Namespaces and the namespaces of its pods) are
    /// the first ids, in its order; the namespaces only policies name follow.
    pub topology_namespaces: u32,
    /// (namespace, label key, label value) -> pod classes, ascending.
    label_index: HashMap<(u32, String, String), Vec<ClassId>>,
}

impl Universe {
    /// `extra_namespaces` are namespaces that policies name (their own, or by
    /// `kubernetes.io/metadata.name` in a selector): each exists with only its name label.
    pub fn new(
        topology: &Topology,
        extra_namespaces: &[String],
        addresses: AddressSpace,
    ) -> Universe {
        let topology_namespaces = topology
            .namespaces
            .iter()
            .map(|n| &n.name)
            .chain(topology.pods.iter().map(|p| &p.namespace))
            .collect::<HashSet<_>>()
            .len() as u32;
        let mut namespace_labels: BTreeMap<String, Labels> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut note = |name: &str, labels: Option<&Labels>| {
            let entry = namespace_labels.entry(name.to_owned()).or_insert_with(|| {
                order.push(name.to_owned());
                Labels::new()
            });
            if let Some(labels) = labels {
                entry.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        };
        for namespace in &topology.namespaces {
            note(&namespace.name, Some(&namespace.labels));
        }
        for pod in &topology.pods {
            note(&pod.namespace, None);
        }
        for name in extra_namespaces {
            note(name, None);
        }
        let mut namespaces = Vec::new();
        let mut namespace_ids = HashMap::new();
        for name in &order {
            let mut labels = namespace_labels[name].clone();
            // Set by the API server on every namespace, whatever was written.
            labels.insert(NAMESPACE_NAME_LABEL.to_owned(), name.clone());
            namespace_ids.insert(name.clone(), namespaces.len() as u32);
            namespaces.push(NamespaceClass {
                labels,
                pods: Vec::new(),
            });
        }
        let mut classes = Vec::new();
        let mut pods = Vec::new();
        for pod in &topology.pods {
            let namespace = namespace_ids[&pod.namespace];
            classes.push(EndpointClass::Pod(pod.clone()));
            pods.push(PodClass {
                namespace,
                labels: pod.labels.clone(),
                named_ports: pod.named_ports.clone(),
            });
        }
        for (i, name) in order.iter().enumerate() {
            classes.push(EndpointClass::OtherPodIn {
                namespace: name.clone(),
            });
            pods.push(PodClass {
                namespace: i as u32,
                labels: Labels::new(),
                named_ports: Vec::new(),
            });
        }
        let unnamed = namespaces.len() as u32;
        namespaces.push(NamespaceClass {
            labels: Labels::from([(
                NAMESPACE_NAME_LABEL.to_owned(),
                UNNAMED_NAMESPACE.to_owned(),
            )]),
            pods: Vec::new(),
        });
        classes.push(EndpointClass::PodInUnnamedNamespace);
        pods.push(PodClass {
            namespace: unnamed,
            labels: Labels::new(),
            named_ports: Vec::new(),
        });
        let mut label_index: HashMap<(u32, String, String), Vec<ClassId>> = HashMap::new();
        for (id, pod) in pods.iter().enumerate() {
            namespaces[pod.namespace as usize].pods.push(id as ClassId);
            for (key, value) in &pod.labels {
                label_index
                    .entry((pod.namespace, key.clone(), value.clone()))
                    .or_default()
                    .push(id as ClassId);
            }
        }
        classes.extend(
            addresses
                .classes()
                .iter()
                .cloned()
                .map(EndpointClass::Address),
        );
        Universe {
            classes,
            namespaces,
            namespace_ids,
            pods,
            addresses,
            topology_namespaces,
            label_index,
        }
    }

    pub fn pod_count(&self) -> u32 {
        self.pods.len() as u32
    }

    pub fn address_class(&self, id: ClassId) -> Option<u32> {
        id.checked_sub(self.pod_count())
    }

    /// The namespaces a selector picks, ascending.
    pub fn select_namespaces(&self, selector: &Selector) -> Vec<u32> {
        (0..self.namespaces.len() as u32)
            .filter(|&n| selector.matches(&self.namespaces[n as usize].labels))
            .collect()
    }

    /// The pod classes of one namespace that a selector picks, ascending.
    pub fn select_pods(&self, namespace: u32, selector: &Selector) -> Vec<ClassId> {
        let matches = |id: &ClassId| selector.matches(&self.pods[*id as usize].labels);
        match selector.narrowest_in() {
            Some((key, values)) => {
                let mut out: Vec<ClassId> = values
                    .iter()
                    .filter_map(|v| {
                        self.label_index
                            .get(&(namespace, key.to_owned(), v.clone()))
                    })
                    .flatten()
                    .copied()
                    .filter(matches)
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            }
            None => self.namespaces[namespace as usize]
                .pods
                .iter()
                .copied()
                .filter(matches)
                .collect(),
        }
    }
}

/// Names of namespaces a selector pins by `kubernetes.io/metadata.name`, so those
/// namespaces get classes of their own even when no topology declares them.
pub(crate) fn named_namespaces(selector: &Selector) -> impl Iterator<Item = &String> {
    selector.requirements().iter().flat_map(|r| match r {
        Requirement::In { key, values } | Requirement::NotIn { key, values }
            if key == NAMESPACE_NAME_LABEL =>
        {
            values.iter().collect::<Vec<_>>()
        }
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::topology::NamespaceInfo;

    fn universe() -> Universe {
        let topology = Topology {
            namespaces: vec![NamespaceInfo {
                name: "prod".into(),
                labels: Labels::from([
                    ("team".into(), "a".into()),
                    (NAMESPACE_NAME_LABEL.into(), "forged".into()),
                ]),
            }],
            pods: vec![
                PodInfo::new("prod", "api", &[("app", "api")]),
                PodInfo::new("dev", "api", &[("app", "api")]),
            ],
        };
        Universe::new(&topology, &["monitoring".to_owned()], AddressSpace::new([]))
    }

    #[test]
    fn classes_cover_other_pods_and_other_namespaces() {
        let u = universe();
        let names: Vec<String> = u.classes.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "prod/api",
                "dev/api",
                "prod/<any other pod>",
                "dev/<any other pod>",
                "monitoring/<any other pod>",
                "<any pod of any other namespace>",
                "any address outside every ipBlock CIDR (e.g. 0.0.0.0)",
            ]
        );
    }

    #[test]
    fn the_name_label_is_implied_and_cannot_be_forged() {
        let u = universe();
        let by_name = |name: &str| {
            let mut s = Labels::new();
            s.insert(NAMESPACE_NAME_LABEL.into(), name.into());
            u.select_namespaces(&Selector::compile(
                &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(s),
                    match_expressions: None,
                },
            ))
        };
        assert_eq!(by_name("prod"), [0]);
        assert_eq!(by_name("forged"), Vec::<u32>::new());
        assert_eq!(by_name("monitoring"), [2]);
        assert_eq!(
            by_name(UNNAMED_NAMESPACE).len(),
            1,
            "only the stand-in carries its sentinel"
        );
    }

    #[test]
    fn selecting_pods_stays_within_the_namespace() {
        let u = universe();
        let app_api = Selector::compile(
            &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                match_labels: Some(Labels::from([("app".into(), "api".into())])),
                match_expressions: None,
            },
        );
        assert_eq!(u.select_pods(0, &app_api), [0]);
        assert_eq!(u.select_pods(1, &app_api), [1]);
        assert_eq!(u.select_pods(0, &Selector::everything()), [0, 2]);
    }
}
