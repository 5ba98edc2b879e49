//! The full answer, kept sparse: every pair of classes that some isolated side allows
//! something for, and a readable report of it.
//!
//! Every pair not listed is decided too: it is allowed on every port when the source is not
//! egress-isolated and the destination not ingress-isolated (or external), and denied
//! otherwise. So the listing grows with what the policies allow, never with pods squared.
//! Ports need no enumeration either: every answer is a [`super::PortSet`] whose range
//! boundaries are among the cuts of [`Analysis::port_classes`].

use std::fmt::{self, Write as _};

use super::analysis::{Analysis, PeerRef, Side, Verdict, slot};
use super::classes::ClassId;
use super::policy::{Direction, PortMatch, Ports};
use zero_trust_rules::Protocol;
use zero_trust_rules::{FIRST_PORT, LAST_PORT};

/// One pair of classes and what each side allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairVerdict {
    pub source: ClassId,
    pub destination: ClassId,
    pub verdict: Verdict,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Side::NotIsolated => f.write_str("not isolated"),
            Side::External => f.write_str("external"),
            Side::Isolated(ports) => ports.fmt(f),
        }
    }
}

impl Analysis {
    /// The destinations that an isolated side names for `source`: its egress grants'
    /// peers, and the pods whose ingress grants contain it. Sorted, without duplicates.
    fn candidate_destinations(&self, source: ClassId) -> Vec<ClassId> {
        let everything = || 0..self.universe.classes.len() as ClassId;
        let mut out: Vec<ClassId> = Vec::new();
        if self.is_isolated(source, Direction::Egress) {
            for grant in &self.grants[slot(Direction::Egress)][source as usize] {
                match grant.peers {
                    PeerRef::All => out.extend(everything()),
                    PeerRef::Set(id) => out.extend(&self.peer_sets[id as usize]),
                }
            }
        }
        let sets = self.member_of_ingress_sets[source as usize]
            .iter()
            .map(|&id| PeerRef::Set(id));
        for peers in sets.chain([PeerRef::All]) {
            out.extend(self.ingress_users.get(&peers).into_iter().flatten());
        }
        out.sort_unstable();
        out.dedup();
        if self.universe.address_class(source).is_some() {
            // Traffic between two external addresses never meets a NetworkPolicy.
            out.retain(|&d| self.universe.address_class(d).is_none());
        }
        out
    }

    /// The pairs from `source` on which some isolated side allows something.
    pub fn pairs_from(&self, source: ClassId) -> Vec<PairVerdict> {
        let restricted_and_open =
            |side: &Side| matches!(side, Side::Isolated(ports) if !ports.is_empty());
        self.candidate_destinations(source)
            .into_iter()
            .map(|destination| PairVerdict {
                source,
                destination,
                verdict: self.verdict(source, destination),
            })
            .filter(|p| {
                restricted_and_open(&p.verdict.egress) || restricted_and_open(&p.verdict.ingress)
            })
            .collect()
    }

    /// Every pair on which some isolated side allows something, by source then
    /// destination; computed lazily, one source at a time.
    pub fn constrained_pairs(&self) -> impl Iterator<Item = PairVerdict> + '_ {
        (0..self.universe.classes.len() as ClassId).flat_map(|s| self.pairs_from(s))
    }

    /// The port classes of one protocol: FIRST_PORT..=LAST_PORT cut at every `port`/`endPort` boundary
    /// and every named port as resolved on every pod class; all ports of a class are
    /// allowed or denied together for every pair.
    pub fn port_classes(&self, protocol: Protocol) -> Vec<(u16, u16)> {
        // A cut at `n` starts a class at `n`; as u32 so `LAST_PORT + 1` does not wrap.
        let mut cuts: Vec<u32> = vec![u32::from(FIRST_PORT)];
        let rules = self
            .policies
            .iter()
            .flat_map(|p| p.compiled.ingress.iter().chain(&p.compiled.egress));
        for rule in rules {
            let Ports::Listed(list) = &rule.ports else {
                continue;
            };
            for entry in list {
                match entry {
                    PortMatch::Numbers {
                        protocol: p,
                        first,
                        last,
                    } if *p == protocol => {
                        cuts.extend([u32::from(*first), u32::from(*last) + 1]);
                    }
                    PortMatch::Named { protocol: p, name } if *p == protocol => {
                        let named = self.universe.pods.iter().flat_map(|pod| &pod.named_ports);
                        for port in named.filter(|n| n.protocol == protocol && n.name == *name) {
                            cuts.extend([u32::from(port.port), u32::from(port.port) + 1]);
                        }
                    }
                    _ => {}
                }
            }
        }
        cuts.retain(|&c| c <= u32::from(LAST_PORT));
        cuts.sort_unstable();
        cuts.dedup();
        let ends = cuts
            .iter()
            .skip(1)
            .map(|&c| c - 1)
            .chain([u32::from(LAST_PORT)]);
        cuts.iter()
            .zip(ends)
            .map(|(&first, last)| (first as u16, last as u16))
            .collect()
    }

    /// A report for people: the classes, their isolation, and every constrained pair.
    pub fn report(&self) -> String {
        let mut out = String::new();
        self.write_report(&mut out)
            .expect("writing to a String cannot fail");
        out
    }

    pub fn write_report(&self, out: &mut impl fmt::Write) -> fmt::Result {
        writeln!(out, "endpoint classes:")?;
        for (id, class) in self.classes().iter().enumerate() {
            let id = id as ClassId;
            let isolation = match (
                self.is_isolated(id, Direction::Ingress),
                self.is_isolated(id, Direction::Egress),
            ) {
                _ if class.is_address() => "external",
                (true, true) => "isolated for ingress and egress",
                (true, false) => "isolated for ingress",
                (false, true) => "isolated for egress",
                (false, false) => "not isolated",
            };
            writeln!(out, "  [{id}] {class}: {isolation}")?;
        }
        writeln!(
            out,
            "pairs on which an isolated side allows something (source -> destination):"
        )?;
        let mut any = false;
        for pair in self.constrained_pairs() {
            any = true;
            writeln!(
                out,
                "  {} -> {}: {} (egress: {}; ingress: {})",
                self.class(pair.source),
                self.class(pair.destination),
                pair.verdict.end_to_end,
                pair.verdict.egress,
                pair.verdict.ingress
            )?;
        }
        if !any {
            writeln!(out, "  none")?;
        }
        writeln!(
            out,
            "every other pair: all ports when the source is not egress-isolated and the destination is not ingress-isolated; otherwise nothing"
        )
    }
}

/// Renders any list of pairs the way [`Analysis::report`] does; handy in test failures.
pub fn format_pairs(analysis: &Analysis, pairs: &[PairVerdict]) -> String {
    let mut out = String::new();
    for pair in pairs {
        let _ = writeln!(
            out,
            "{} -> {}: {}",
            analysis.class(pair.source),
            analysis.class(pair.destination),
            pair.verdict.end_to_end
        );
    }
    out
}
