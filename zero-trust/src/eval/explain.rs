//! Why one connection is allowed or denied: per side, whether the pod is isolated, which
//! policies select it, and which policy and rule allow the connection.

use std::fmt;

use zero_trust_rules::{PortRange, Protocol};

use super::analysis::{Analysis, slot};
use super::classes::ClassId;
use super::policy::Direction;
use super::topology::Provenance;

/// A policy named in an explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRef {
    /// `namespace/name`.
    pub name: String,
    pub source: Provenance,
}

/// One rule that allows the connection: `policy`'s `spec.ingress[rule]` or `spec.egress[rule]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowingRule {
    pub policy: PolicyRef,
    pub rule: usize,
}

/// One side of a connection: the source's egress or the destination's ingress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideExplanation {
    pub direction: Direction,
    /// The endpoint whose policies decide this side.
    pub endpoint: String,
    /// False when the endpoint is an external address: no policy applies there.
    pub in_cluster: bool,
    pub isolated: bool,
    /// Every policy whose podSelector selects the endpoint, with whether it has this
    /// direction in its policyTypes.
    pub selecting: Vec<(PolicyRef, bool)>,
    pub allowing: Vec<AllowingRule>,
    pub allowed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub source: String,
    pub destination: String,
    pub port: PortRange,
    pub egress: SideExplanation,
    pub ingress: SideExplanation,
    /// Both sides allow it.
    pub allowed: bool,
}

impl Analysis {
    /// Explains one connection from `source` to `destination` on `port`/`protocol`.
    pub fn explain(
        &self,
        source: ClassId,
        destination: ClassId,
        port: u16,
        protocol: Protocol,
    ) -> Explanation {
        let egress = self.explain_side(Direction::Egress, source, destination, port, protocol);
        let ingress = self.explain_side(Direction::Ingress, destination, source, port, protocol);
        Explanation {
            source: self.class(source).to_string(),
            destination: self.class(destination).to_string(),
            port: PortRange::single(protocol, port),
            allowed: egress.allowed && ingress.allowed,
            egress,
            ingress,
        }
    }

    fn explain_side(
        &self,
        direction: Direction,
        pod: ClassId,
        other: ClassId,
        port: u16,
        protocol: Protocol,
    ) -> SideExplanation {
        let destination = if direction == Direction::Egress {
            other
        } else {
            pod
        };
        let in_cluster = self.universe.address_class(pod).is_none();
        let mut selecting = Vec::new();
        let mut allowing = Vec::new();
        for &p in self.selecting.get(pod as usize).into_iter().flatten() {
            let info = &self.policies[p as usize];
            let policy = PolicyRef {
                name: info.name.clone(),
                source: info.source.clone(),
            };
            let affects = info.compiled.affects(direction);
            for (r, rule) in info.compiled.rules(direction).iter().enumerate() {
                let peers = self.rule_peers[p as usize][slot(direction)][r];
                if self.peers_contain(peers, other)
                    && rule
                        .ports
                        .resolve(self.named_ports_of(destination))
                        .contains(protocol, port)
                {
                    allowing.push(AllowingRule {
                        policy: policy.clone(),
                        rule: r,
                    });
                }
            }
            selecting.push((policy, affects));
        }
        let isolated = self.is_isolated(pod, direction);
        SideExplanation {
            direction,
            endpoint: self.class(pod).to_string(),
            in_cluster,
            isolated,
            selecting,
            allowed: !in_cluster || !isolated || !allowing.is_empty(),
            allowing,
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        writeln!(
            f,
            "{} -> {} on {}: {verdict}",
            self.source, self.destination, self.port
        )?;
        write!(f, "{}", self.egress)?;
        write!(f, "{}", self.ingress)
    }
}

impl fmt::Display for SideExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.direction {
            Direction::Egress => "Egress",
            Direction::Ingress => "Ingress",
        };
        write!(f, "  {} at {}: ", self.direction, self.endpoint)?;
        if !self.in_cluster {
            return writeln!(f, "allowed (an external address; no policy applies)");
        }
        if !self.isolated {
            writeln!(
                f,
                "allowed (not isolated: no policy selecting it has {word} in its policyTypes)"
            )?;
        } else if self.allowing.is_empty() {
            writeln!(
                f,
                "denied (isolated, and no {} rule of a selecting policy matches)",
                self.direction
            )?;
        } else {
            writeln!(f, "allowed")?;
        }
        for (policy, affects) in &self.selecting {
            if *affects {
                writeln!(f, "    isolates: {} ({})", policy.name, policy.source)?;
            } else {
                writeln!(
                    f,
                    "    selects, but has no {word} in policyTypes: {} ({})",
                    policy.name, policy.source
                )?;
            }
        }
        for allowing in &self.allowing {
            writeln!(
                f,
                "    allowed by: {} spec.{}[{}] ({})",
                allowing.policy.name, self.direction, allowing.rule, allowing.policy.source
            )?;
        }
        Ok(())
    }
}
