//! Sets of ports per protocol, as sorted disjoint ranges: the port side of every answer.
//!
//! A set of `(protocol, first..=last)` ranges kept sorted and merged is an exact stand-in
//! for the port equivalence classes: the boundaries of its ranges are the class cuts, and
//! union and intersection never need to enumerate single ports.

use std::fmt;

use zero_trust_rules::{FIRST_PORT, LAST_PORT, PortRange, Protocol};

/// Ports of several protocols: ranges sorted by protocol then first port, never overlapping
/// nor touching (touching ranges are merged), so two equal sets are equal values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortSet {
    ranges: Vec<PortRange>,
}

impl PortSet {
    pub fn empty() -> PortSet {
        PortSet::default()
    }

    /// Every port of every protocol.
    pub fn all() -> PortSet {
        PortSet {
            ranges: Protocol::ALL.iter().map(|&p| full_range(p)).collect(),
        }
    }

    /// Every port of one protocol.
    pub fn all_of(protocol: Protocol) -> PortSet {
        PortSet {
            ranges: vec![full_range(protocol)],
        }
    }

    pub fn single(protocol: Protocol, port: u16) -> PortSet {
        PortSet::range(protocol, port, port)
    }

    /// `first..=last`; empty when reversed.
    pub fn range(protocol: Protocol, first: u16, last: u16) -> PortSet {
        let first = first.max(FIRST_PORT);
        if first > last {
            return PortSet::empty();
        }
        PortSet {
            ranges: vec![PortRange {
                protocol,
                first,
                last,
            }],
        }
    }

    /// Builds a set from ranges in any order, overlapping or not.
    pub fn from_ranges(ranges: impl IntoIterator<Item = PortRange>) -> PortSet {
        let mut ranges: Vec<PortRange> = ranges
            .into_iter()
            .map(|r| PortRange {
                first: r.first.max(FIRST_PORT),
                ..r
            })
            .filter(|r| r.first <= r.last)
            .collect();
        ranges.sort_unstable();
        PortSet {
            ranges: normalize_sorted(ranges),
        }
    }

    pub fn ranges(&self) -> &[PortRange] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_all(&self) -> bool {
        *self == PortSet::all()
    }

    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        let probe = PortRange {
            protocol,
            first: port,
            last: port,
        };
        // The candidate is the last range starting at or before `port` in this protocol.
        let index = self
            .ranges
            .partition_point(|r| (r.protocol, r.first) <= (protocol, port));
        index > 0 && self.ranges[index - 1].covers(&probe)
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let mut merged = Vec::with_capacity(self.ranges.len() + other.ranges.len());
        let (mut a, mut b) = (
            self.ranges.iter().peekable(),
            other.ranges.iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x <= y => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            merged.extend(next.copied());
        }
        PortSet {
            ranges: normalize_sorted(merged),
        }
    }

    pub fn union_with(&mut self, other: &PortSet) {
        if !other.is_empty() {
            *self = self.union(other);
        }
    }

    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (x, y) = (self.ranges[i], other.ranges[j]);
            if x.protocol != y.protocol {
                if x.protocol < y.protocol {
                    i += 1;
                } else {
                    j += 1;
                }
                continue;
            }
            let first = x.first.max(y.first);
            let last = x.last.min(y.last);
            if first <= last {
                out.push(PortRange {
                    protocol: x.protocol,
                    first,
                    last,
                });
            }
            if x.last < y.last {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortSet { ranges: out }
    }

    /// The ports of `self` that `other` does not have.
    pub fn difference(&self, other: &PortSet) -> PortSet {
        self.intersection(&other.complement())
    }

    /// Every port of every protocol that `self` does not have.
    pub fn complement(&self) -> PortSet {
        let mut gaps = Vec::new();
        for protocol in Protocol::ALL {
            let mut next = FIRST_PORT;
            for (first, last) in self.of_protocol(protocol) {
                if first > next {
                    gaps.push(PortRange {
                        protocol,
                        first: next,
                        last: first - 1,
                    });
                }
                if last == LAST_PORT {
                    next = LAST_PORT;
                    break;
                }
                next = last + 1;
            }
            let covered_to_end = self
                .of_protocol(protocol)
                .last()
                .is_some_and(|(_, last)| last == LAST_PORT);
            if !covered_to_end {
                gaps.push(PortRange {
                    protocol,
                    first: next,
                    last: LAST_PORT,
                });
            }
        }
        PortSet::from_ranges(gaps)
    }

    /// The ranges of one protocol, as `(first, last)`.
    pub fn of_protocol(&self, protocol: Protocol) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.ranges
            .iter()
            .filter(move |r| r.protocol == protocol)
            .map(|r| (r.first, r.last))
    }
}

fn full_range(protocol: Protocol) -> PortRange {
    PortRange {
        protocol,
        first: FIRST_PORT,
        last: LAST_PORT,
    }
}

/// Merges overlapping or adjacent neighbours of a sorted list.
fn normalize_sorted(sorted: Vec<PortRange>) -> Vec<PortRange> {
    let mut out: Vec<PortRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match out.last_mut() {
            Some(last)
                if last.protocol == range.protocol
                    && u32::from(range.first) <= u32::from(last.last) + 1 =>
            {
                last.last = last.last.max(range.last);
            }
            _ => out.push(range),
        }
    }
    out
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing");
        }
        let mut first = true;
        for protocol in Protocol::ALL {
            let ranges: Vec<(u16, u16)> = self.of_protocol(protocol).collect();
            if ranges.is_empty() {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            if ranges == [(FIRST_PORT, LAST_PORT)] {
                write!(f, "all/{}", protocol.as_dsl())?;
                continue;
            }
            for (i, (from, to)) in ranges.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(
                    f,
                    "{}",
                    PortRange {
                        protocol,
                        first: *from,
                        last: *to
                    }
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: Protocol = Protocol::Tcp;
    const UDP: Protocol = Protocol::Udp;

    #[test]
    fn difference_keeps_what_the_other_lacks_at_both_ends_of_the_range() {
        let all = PortSet::all();
        assert_eq!(all.difference(&all), PortSet::empty());
        assert_eq!(PortSet::empty().complement(), all);
        let web = PortSet::range(TCP, 80, 90).union(&PortSet::single(UDP, 53));
        let rest = all.difference(&web);
        assert!(!rest.contains(TCP, 80) && !rest.contains(TCP, 90) && !rest.contains(UDP, 53));
        assert!(rest.contains(TCP, 79) && rest.contains(TCP, 91) && rest.contains(TCP, 1));
        assert!(rest.contains(TCP, LAST_PORT) && rest.contains(UDP, 54));
        assert_eq!(rest.union(&web), all);
        assert!(!PortSet::all_of(TCP).complement().contains(TCP, LAST_PORT));
        assert!(!web.difference(&PortSet::single(TCP, 85)).contains(TCP, 85));
    }

    #[test]
    fn union_merges_overlapping_and_adjacent_ranges() {
        let a = PortSet::from_ranges([PortRange {
            protocol: TCP,
            first: 80,
            last: 90,
        }]);
        let b = PortSet::from_ranges([
            PortRange {
                protocol: TCP,
                first: 91,
                last: 100,
            },
            PortRange {
                protocol: TCP,
                first: 85,
                last: 86,
            },
            PortRange {
                protocol: UDP,
                first: 53,
                last: 53,
            },
        ]);
        let u = a.union(&b);
        assert_eq!(
            u.ranges(),
            &[
                PortRange {
                    protocol: TCP,
                    first: 80,
                    last: 100
                },
                PortRange::single(UDP, 53)
            ]
        );
        assert_eq!(u.to_string(), "80..=100/tcp, 53/udp");
    }

    #[test]
    fn intersection_is_per_protocol() {
        let a = PortSet::range(TCP, 1000, 2000).union(&PortSet::single(UDP, 53));
        let b = PortSet::range(TCP, 1500, 3000).union(&PortSet::single(TCP, 53));
        assert_eq!(a.intersection(&b), PortSet::range(TCP, 1500, 2000));
        assert!(
            PortSet::all_of(UDP)
                .intersection(&PortSet::all_of(TCP))
                .is_empty()
        );
        assert_eq!(PortSet::all().intersection(&a), a);
    }

    #[test]
    fn contains_checks_protocol_and_bounds() {
        let s = PortSet::range(TCP, 8000, 8080).union(&PortSet::single(UDP, 53));
        assert!(s.contains(TCP, 8000) && s.contains(TCP, 8080) && s.contains(UDP, 53));
        assert!(!s.contains(TCP, 7999) && !s.contains(TCP, 8081) && !s.contains(TCP, 53));
        assert!(!s.contains(Protocol::Sctp, 8000));
    }

    #[test]
    fn all_is_printed_per_protocol() {
        assert!(PortSet::all().is_all());
        assert_eq!(PortSet::all().to_string(), "all/tcp, all/udp, all/sctp");
        assert_eq!(PortSet::empty().to_string(), "nothing");
        assert!(PortSet::range(TCP, 10, 9).is_empty());
    }
}
