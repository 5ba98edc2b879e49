//! The typed model: what a `zero_trust!` block declares, as compact static data.
//!
//! The macro expands to `const` items of these types (struct literals and const slices,
//! not code per flow), so large policies stay cheap to compile. References between
//! items are `&'static`, which lets a flow in one file name a workload of another.

use zero_trust_rules::{NAMESPACE_NAME_LABEL, PortRange, ports_are_checked};

/// A namespace: `managed` ones get a default deny and the policies of their workloads;
/// external ones (ingress-nginx, kube-system) are only referenced, never written to.
#[derive(Debug, Clone, Copy)]
pub struct Namespace {
    /// The identifier in the DSL, for messages.
    pub ident: &'static str,
    /// The Kubernetes name.
    pub name: &'static str,
    pub managed: bool,
    /// Every port some workload of this namespace listens on, so that a flow to the whole
    /// namespace can be checked even from another file.
    pub ports: &'static [PortRange],
    /// `None`: the one namespace called `name`, which peers select by the label the API
    /// server sets on every namespace (`kubernetes.io/metadata.name`). `Some`: every
    /// namespace whose labels the selector matches (`external namespaces payments
    /// ["team" = "payments"]`), never managed; `name` then only names the set.
    pub selector: Option<Selector>,
}

/// A label selector: `matchLabels` and `matchExpressions`, ANDed. Empty, it selects
/// everything (`namespaceSelector: {}` selects every namespace).
/// <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors>
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Selector {
    pub labels: &'static [Label],
    pub expressions: &'static [Expression],
}

impl Selector {
    /// Whether an object with these labels is selected: every label equal and every
    /// expression met. The model's own reading, independent of the evaluator's.
    pub fn selects<'l>(&self, label: impl Fn(&str) -> Option<&'l str>) -> bool {
        self.labels.iter().all(|l| label(l.key) == Some(l.value))
            && self.expressions.iter().all(|e| e.holds_for(label(e.key)))
    }

    /// Labels of an object the selector selects: its `matchLabels`, the first value of
    /// each `In`, a value for each `Exists`; `NotIn` and `DoesNotExist` keys left out.
    pub fn representative_labels(&self) -> Vec<(&'static str, &'static str)> {
        let mut labels: Vec<_> = self.labels.iter().map(|l| (l.key, l.value)).collect();
        for expression in self.expressions {
            match expression.operator {
                Operator::In => labels.push((expression.key, expression.values[0])),
                Operator::Exists => labels.push((expression.key, "present")),
                Operator::NotIn | Operator::DoesNotExist => {}
            }
        }
        labels
    }

    /// The selector as `kubectl get -l` takes it; empty for "everything".
    pub fn kubectl_selector(&self) -> String {
        let labels = self.labels.iter().map(|l| format!("{}={}", l.key, l.value));
        let expressions = self.expressions.iter().map(Expression::to_kubectl);
        labels.chain(expressions).collect::<Vec<_>>().join(",")
    }
}

/// A set of pods in one namespace, selected by labels, and the ports they listen on.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub ident: &'static str,
    /// The Kubernetes name, used to name its policies.
    pub name: &'static str,
    pub namespace: &'static Namespace,
    /// `matchLabels` of the pods; all must match.
    pub selector: &'static [Label],
    /// `matchExpressions` of the pods, ANDed with `selector`; no key occurs twice among
    /// both (the macro refuses it).
    pub expressions: &'static [Expression],
    pub ports: &'static [PortRange],
}

/// A set-based requirement of a label selector (`matchExpressions`).
/// <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#set-based-requirement>
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expression {
    pub key: &'static str,
    pub operator: Operator,
    /// Non-empty for `In` and `NotIn`, empty for `Exists` and `DoesNotExist`, as the API
    /// server's `ValidateLabelSelectorRequirement` requires.
    pub values: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Operator {
    /// The spelling of the Kubernetes API (`operator: NotIn`).
    pub const fn as_k8s(self) -> &'static str {
        match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
        }
    }
}

impl Expression {
    /// Whether a pod whose value of the key is `value` (`None`: no such label) meets the
    /// requirement. A pod without the key meets `NotIn` and `DoesNotExist` ("the label is
    /// absent or its value is not in the set"; the labels documentation above).
    pub fn holds_for(&self, value: Option<&str>) -> bool {
        match (self.operator, value) {
            (Operator::In, Some(value)) => self.values.contains(&value),
            (Operator::In, None) => false,
            (Operator::NotIn, Some(value)) => !self.values.contains(&value),
            (Operator::NotIn, None) => true,
            (Operator::Exists, value) => value.is_some(),
            (Operator::DoesNotExist, value) => value.is_none(),
        }
    }

    /// How `kubectl get -l` writes it: `tier in (web,api)`, `tier notin (batch)`,
    /// `canary`, `!legacy`.
    pub fn to_kubectl(&self) -> String {
        let values = self.values.join(",");
        match self.operator {
            Operator::In => format!("{} in ({values})", self.key),
            Operator::NotIn => format!("{} notin ({values})", self.key),
            Operator::Exists => self.key.to_owned(),
            Operator::DoesNotExist => format!("!{}", self.key),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    pub key: &'static str,
    pub value: &'static str,
}

/// Addresses outside the cluster, named once: one or more blocks (both families of "the
/// internet", say), each minus the `except` blocks inside it.
#[derive(Debug, Clone, Copy)]
pub struct CidrBlock {
    pub ident: &'static str,
    /// Never empty; the first is its identity with the ident.
    pub blocks: &'static [AddressBlock],
}

/// One `ipBlock`: a CIDR and the blocks inside it that it leaves out.
#[derive(Debug, Clone, Copy)]
pub struct AddressBlock {
    pub cidr: &'static str,
    pub except: &'static [&'static str],
}

impl CidrBlock {
    /// The blocks as written: `0.0.0.0/0 except 10.0.0.0/8; ::/0`.
    pub fn describe(&self) -> String {
        let blocks: Vec<String> = self
            .blocks
            .iter()
            .map(|b| match b.except {
                [] => b.cidr.to_owned(),
                except => format!("{} except {}", b.cidr, except.join(", ")),
            })
            .collect();
        blocks.join("; ")
    }
}

/// One end of a flow.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Workload(&'static Workload),
    /// Every pod of the namespace.
    Namespace(&'static Namespace),
    Cidr(&'static CidrBlock),
    /// Every pod of every managed namespace (`*`).
    AllManaged,
}

/// `from -> to:ports`: `from` may open connections to `to` on these ports.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub from: Endpoint,
    pub to: Endpoint,
    pub ports: &'static [PortRange],
    /// Ports named as the target's containers name them (`kube_dns:dns/udp`), for a target
    /// zero-trust does not manage and so cannot know the numbers of: written as the name,
    /// which Kubernetes resolves on each destination pod.
    pub port_names: &'static [PortName],
    /// Why the flow exists: its doc comment (`/// why`), empty without one. Shown in
    /// FLOWS.md and carried by the policies that hold the flow.
    pub reason: &'static str,
}

/// A container port name and the protocol it is named for.
/// <https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicyport>
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortName {
    pub name: &'static str,
    pub protocol: zero_trust_rules::Protocol,
}

impl PortName {
    /// The port numbers it names on a pod whose container ports are `named` (name,
    /// protocol, number): those of the same name and protocol. The model's own reading.
    pub fn resolve<'p>(
        &self,
        named: impl IntoIterator<Item = (&'p str, zero_trust_rules::Protocol, u16)>,
    ) -> Vec<PortRange> {
        named
            .into_iter()
            .filter(|(name, protocol, _)| *name == self.name && *protocol == self.protocol)
            .map(|(_, protocol, port)| PortRange::single(protocol, port))
            .collect()
    }
}

/// `dns` for TCP (the DSL's default), `dns/udp` otherwise.
impl std::fmt::Display for PortName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.protocol {
            zero_trust_rules::Protocol::Tcp => f.write_str(self.name),
            protocol => write!(f, "{}/{}", self.name, protocol.as_dsl()),
        }
    }
}

/// The flow as a line of the DSL, for messages: `main_api -> auth_service:8080, 53/udp`.
impl std::fmt::Display for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = |end: &Endpoint| match end {
            Endpoint::Workload(w) => w.ident,
            Endpoint::Namespace(n) => n.ident,
            Endpoint::Cidr(c) => c.ident,
            Endpoint::AllManaged => "*",
        };
        write!(f, "{} -> {}:", end(&self.from), end(&self.to))?;
        if every_port(self.ports) {
            return write!(f, "any");
        }
        let mut separator = "";
        for name in self.port_names {
            write!(f, "{separator}{name}")?;
            separator = ", ";
        }
        // TCP is the DSL's default and goes unwritten, unless other protocols are beside it.
        let only_tcp = self
            .ports
            .iter()
            .all(|p| p.protocol == zero_trust_rules::Protocol::Tcp);
        for port in self.ports {
            let text = port.to_string();
            let text = if only_tcp {
                text.strip_suffix("/tcp").unwrap_or(&text)
            } else {
                &text
            };
            write!(f, "{separator}{text}")?;
            separator = ", ";
        }
        Ok(())
    }
}

/// Whether `ports` hold every port of every protocol: the DSL's `any`, which a
/// NetworkPolicy rule says by leaving out `ports`.
pub fn every_port(ports: &[PortRange]) -> bool {
    zero_trust_rules::Protocol::ALL
        .iter()
        .all(|&protocol| ports.contains(&PortRange::every(protocol)))
}

/// What one `zero_trust!` block declares; a cluster is assembled from several.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The file of the block, for messages.
    pub file: &'static str,
    pub namespaces: &'static [&'static Namespace],
    pub workloads: &'static [&'static Workload],
    pub cidrs: &'static [&'static CidrBlock],
    pub flows: &'static [Flow],
    /// The block's `clusters staging, prod;` line: the cluster names its attributes may
    /// use, which the assembly must declare. Empty without such a line.
    pub clusters: &'static [&'static str],
    /// The declarations and flows `#[clusters(...)]` limits to some clusters; every other
    /// one is in every cluster.
    pub limits: &'static [crate::targets::ClusterLimit],
}

/// Where the pods of a label-selected namespace live in the model's own cluster (the
/// topology the proof runs on): one namespace carrying labels its selector matches. Its
/// name is the one the selector pins (`kubernetes.io/metadata.name in [...]`), else one no
/// real namespace can have (`<payments>`: not a DNS label), so it never merges with one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepresentativeNamespace {
    pub name: String,
    pub labels: Vec<(&'static str, &'static str)>,
}

impl Namespace {
    pub const fn endpoint(&'static self) -> Endpoint {
        Endpoint::Namespace(self)
    }

    /// Whether a namespace called `name` with these labels is (one of) this namespace.
    /// The API server labels every namespace with its name, whatever else it carries.
    pub fn selects_namespace(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        let label = |key: &str| {
            if key == NAMESPACE_NAME_LABEL {
                return Some(name);
            }
            labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        };
        match &self.selector {
            None => self.name == name,
            Some(selector) => selector.selects(label),
        }
    }

    /// The namespace standing for this one in the model's own cluster.
    pub fn representative(&self) -> RepresentativeNamespace {
        let Some(selector) = &self.selector else {
            return RepresentativeNamespace {
                name: self.name.to_owned(),
                labels: Vec::new(),
            };
        };
        let mut labels = selector.representative_labels();
        let pinned = labels
            .iter()
            .position(|(key, _)| *key == NAMESPACE_NAME_LABEL)
            .map(|i| labels.remove(i).1);
        RepresentativeNamespace {
            name: pinned.map_or_else(|| format!("<{}>", self.name), str::to_owned),
            labels,
        }
    }

    /// How messages and pages name it: `prod-api`, or `payments (namespaces team=payments)`.
    pub fn describe(&self) -> String {
        match &self.selector {
            None => self.name.to_owned(),
            Some(selector) => match selector.kubectl_selector() {
                labels if labels.is_empty() => format!("{} (every namespace)", self.name),
                labels => format!("{} (namespaces {labels})", self.name),
            },
        }
    }

    /// What the expansion calls on an end named by path. The name says what went wrong
    /// when the path names something else ("no method named `as_zero_trust_flow_end`
    /// found for `&u16`"), and no method of the standard library is near it, so rustc's
    /// "similar name" help never points into the standard library's source.
    #[doc(hidden)]
    pub const fn as_zero_trust_flow_end(&'static self) -> Endpoint {
        self.endpoint()
    }
}

impl Workload {
    /// Whether a pod with these labels is one of the workload's pods: every label of
    /// `selector` equal and every expression met (the requirements of a selector are
    /// ANDed). The model's own reading, independent of the evaluator's.
    pub fn selects<'l>(&self, label: impl Fn(&str) -> Option<&'l str>) -> bool {
        self.pod_selector().selects(label)
    }

    /// The `podSelector` of its pods.
    pub fn pod_selector(&self) -> Selector {
        Selector {
            labels: self.selector,
            expressions: self.expressions,
        }
    }

    /// Labels of a pod the workload selects ([`Selector::representative_labels`]).
    pub fn representative_labels(&self) -> Vec<(&'static str, &'static str)> {
        self.pod_selector().representative_labels()
    }

    /// The selector as `kubectl get -l` takes it.
    pub fn kubectl_selector(&self) -> String {
        self.pod_selector().kubectl_selector()
    }

    pub const fn endpoint(&'static self) -> Endpoint {
        Endpoint::Workload(self)
    }

    /// What the expansion calls on an end named by path. The name says what went wrong
    /// when the path names something else ("no method named `as_zero_trust_flow_end`
    /// found for `&u16`"), and no method of the standard library is near it, so rustc's
    /// "similar name" help never points into the standard library's source.
    #[doc(hidden)]
    pub const fn as_zero_trust_flow_end(&'static self) -> Endpoint {
        self.endpoint()
    }
}

impl CidrBlock {
    pub const fn endpoint(&'static self) -> Endpoint {
        Endpoint::Cidr(self)
    }

    /// What the expansion calls on an end named by path. The name says what went wrong
    /// when the path names something else ("no method named `as_zero_trust_flow_end`
    /// found for `&u16`"), and no method of the standard library is near it, so rustc's
    /// "similar name" help never points into the standard library's source.
    #[doc(hidden)]
    pub const fn as_zero_trust_flow_end(&'static self) -> Endpoint {
        self.endpoint()
    }
}

impl Endpoint {
    /// The ports known to listen at this end, or `None` where nothing is known (a CIDR,
    /// every managed pod, an external end declared without ports), in which case any port
    /// may be named.
    pub const fn listening_ports(&self) -> Option<&'static [PortRange]> {
        let (managed, ports) = match self {
            Endpoint::Workload(workload) => (workload.namespace.managed, workload.ports),
            Endpoint::Namespace(namespace) => (namespace.managed, namespace.ports),
            Endpoint::Cidr(_) | Endpoint::AllManaged => return None,
        };
        if ports_are_checked(managed, ports) {
            Some(ports)
        } else {
            None
        }
    }

    /// Whether a flow may name `port` at this end: the rule behind "a port the target
    /// does not listen on", in the form the macro's cross-file checks evaluate at compile
    /// time.
    pub const fn accepts_port(&self, port: &PortRange) -> bool {
        let Some(listening) = self.listening_ports() else {
            return true;
        };
        let mut i = 0;
        while i < listening.len() {
            if listening[i].covers(port) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// Whether this end lies in a managed namespace, so that its side of a flow is written.
    pub const fn is_managed(&self) -> bool {
        match self {
            Endpoint::Workload(workload) => workload.namespace.managed,
            Endpoint::Namespace(namespace) => namespace.managed,
            Endpoint::Cidr(_) => false,
            Endpoint::AllManaged => true,
        }
    }

    /// A stable identity: the same end compares equal from every file that names it.
    pub fn key(&self) -> EndpointKey {
        match self {
            Endpoint::Workload(w) => EndpointKey::Workload {
                namespace: w.namespace.name,
                name: w.name,
            },
            Endpoint::Namespace(n) => EndpointKey::Namespace { name: n.name },
            Endpoint::Cidr(c) => EndpointKey::Cidr {
                ident: c.ident,
                cidr: c.blocks.first().map_or("", |b| b.cidr),
            },
            Endpoint::AllManaged => EndpointKey::AllManaged,
        }
    }
}

/// Identity of an [`Endpoint`], ordered for deterministic output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EndpointKey {
    AllManaged,
    Namespace {
        name: &'static str,
    },
    Workload {
        namespace: &'static str,
        name: &'static str,
    },
    Cidr {
        ident: &'static str,
        cidr: &'static str,
    },
}

/// The cross-file check of a flow's port, which the macro expands to for a target named by
/// path: rustc evaluates it in a `const` and reports a failure at the flow's port token
/// (`#[track_caller]`), so the message need not repeat the target or the port.
#[doc(hidden)]
#[track_caller]
pub const fn expect_port(to: Endpoint, port: PortRange) {
    if !to.accepts_port(&port) {
        panic!(
            "the flow's target does not listen on this port; declare the port where the target is declared, or fix the flow"
        );
    }
}

/// [`expect_port`] on the `to`th end of a block's table of ends and the `k`th port of the
/// `list`th of its port lists: what each cross-file port check calls, so that the check is
/// one call of a few tokens (rustc keeps a body per check, and a block has thousands).
#[doc(hidden)]
#[track_caller]
pub const fn expect_port_at(
    ends: &[Endpoint],
    port_lists: &[&[PortRange]],
    to: usize,
    list: usize,
    k: usize,
) {
    expect_port(ends[to], port_lists[list][k]);
}

/// The cross-file check of a flow naming a port by its container name for a target of
/// another block: the target's pods resolve it, which only an end zero-trust does not
/// manage may leave to them (a managed workload names its ports in its own block).
#[doc(hidden)]
#[track_caller]
pub const fn expect_port_name(to: Endpoint) {
    let external_pods = match to {
        Endpoint::Workload(workload) => !workload.namespace.managed,
        Endpoint::Namespace(namespace) => !namespace.managed,
        Endpoint::Cidr(_) | Endpoint::AllManaged => false,
    };
    if !external_pods {
        panic!(
            "a port name is left to the target's pods only where zero-trust does not manage them; write the port number, or name the port where a managed workload is declared and flow to it from that block"
        );
    }
}

/// The cross-file check that a flow has a managed end, reported at its `->`.
#[doc(hidden)]
#[track_caller]
pub const fn expect_managed_end(from: Endpoint, to: Endpoint) {
    if !from.is_managed() && !to.is_managed() {
        panic!(
            "neither end of this flow is in a managed namespace, so it would write no policy; zero-trust writes policies only into managed namespaces"
        );
    }
}

/// A model built at run time (by import, by synth) rather than by the macro's `const`
/// items: its references are `&'static` all the same, so what such a one-shot process
/// builds is leaked for the process's life.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// See [`leak`].
pub fn leak_str(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// See [`leak`].
pub fn leak_slice<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}
