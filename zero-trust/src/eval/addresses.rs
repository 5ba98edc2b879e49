//! Address classes: the IPv4 and IPv6 spaces cut at every `ipBlock` CIDR and `except`
//! boundary, so that every address of a class is matched by exactly the same ipBlocks.
//!
//! Intervals that no `ipBlock.cidr` covers behave alike (no ipBlock matches them) and form
//! one class, "an address outside every CIDR".

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    fn max(self) -> u128 {
        match self {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// An inclusive interval of addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddressRange {
    pub family: Family,
    pub first: u128,
    pub last: u128,
}

impl AddressRange {
    pub fn of_net(net: &IpNet) -> AddressRange {
        let (first, last) = (net.network(), net.broadcast());
        AddressRange {
            family: family_of(&first),
            first: to_u128(first),
            last: to_u128(last),
        }
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        family_of(&address) == self.family && (self.first..=self.last).contains(&to_u128(address))
    }

    pub fn first_address(&self) -> IpAddr {
        from_u128(self.family, self.first)
    }

    /// The fewest CIDRs that cover exactly this range.
    pub fn cidrs(&self) -> Vec<IpNet> {
        let bits = self.family.bits();
        let mut out = Vec::new();
        let mut start = self.first;
        loop {
            // The largest aligned block starting at `start` that does not pass `last`.
            let mut size_bits = if start == 0 {
                bits
            } else {
                start.trailing_zeros().min(bits)
            };
            while size_bits > 0 && block_last(start, size_bits).is_none_or(|end| end > self.last) {
                size_bits -= 1;
            }
            let prefix = (bits - size_bits) as u8;
            let net = IpNet::new(from_u128(self.family, start), prefix)
                .expect("prefix within family bits");
            out.push(net);
            match block_last(start, size_bits) {
                Some(end) if end < self.last => start = end + 1,
                _ => break,
            }
        }
        out
    }
}

/// The last address of the aligned block of `2^size_bits` addresses at `start`.
fn block_last(start: u128, size_bits: u32) -> Option<u128> {
    if size_bits == 128 {
        return (start == 0).then_some(u128::MAX);
    }
    start.checked_add((1u128 << size_bits) - 1)
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cidrs = self.cidrs();
        if cidrs.len() <= 3 {
            let text: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
            f.write_str(&text.join(" + "))
        } else {
            write!(
                f,
                "{} - {}",
                from_u128(self.family, self.first),
                from_u128(self.family, self.last)
            )
        }
    }
}

pub fn family_of(address: &IpAddr) -> Family {
    match address {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

fn to_u128(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(family: Family, value: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(value as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// An `ipBlock`: addresses in `cidr` but in none of `except`. Host bits are cleared as the
/// API server's `ParseCIDRSloppy` does (pkg/apis/networking/validation/validation.go).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IpBlock {
    pub cidr: IpNet,
    pub except: Vec<IpNet>,
}

impl IpBlock {
    /// Whether one address is matched; the definition the class computation must agree with.
    pub fn matches(&self, address: IpAddr) -> bool {
        self.cidr.contains(&address) && !self.except.iter().any(|e| e.contains(&address))
    }
}

/// One address class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// Every address of the range is matched by the same ipBlocks, and by at least one
    /// `ipBlock.cidr` (it may be excepted).
    Range(AddressRange),
    /// Addresses no `ipBlock.cidr` covers; `example` is one such range, if any exists.
    OutsideEveryCidr { example: Option<AddressRange> },
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressClass::Range(range) => range.fmt(f),
            AddressClass::OutsideEveryCidr { example: Some(e) } => {
                write!(
                    f,
                    "any address outside every ipBlock CIDR (e.g. {})",
                    e.first_address()
                )
            }
            AddressClass::OutsideEveryCidr { example: None } => {
                f.write_str("any address outside every ipBlock CIDR")
            }
        }
    }
}

/// The address classes of a set of ipBlocks.
#[derive(Clone, Debug)]
pub struct AddressSpace {
    classes: Vec<AddressClass>,
    /// Per family: the first address of each elementary interval, and its class.
    starts: [Vec<u128>; 2],
    class_of_interval: [Vec<u32>; 2],
}

impl AddressSpace {
    pub fn new<'a>(blocks: impl IntoIterator<Item = &'a IpBlock>) -> AddressSpace {
        let mut cuts: [Vec<u128>; 2] = [vec![0], vec![0]];
        // +1 where a cidr starts, -1 after it ends: a positive sum means "covered".
        let mut coverage: [Vec<(u128, i64)>; 2] = [Vec::new(), Vec::new()];
        for block in blocks {
            for (net, is_cidr) in
                std::iter::once((&block.cidr, true)).chain(block.except.iter().map(|e| (e, false)))
            {
                let range = AddressRange::of_net(net);
                let f = range.family.index();
                cuts[f].push(range.first);
                let after = (range.last < range.family.max()).then(|| range.last + 1);
                cuts[f].extend(after);
                if is_cidr {
                    coverage[f].push((range.first, 1));
                    coverage[f].extend(after.map(|a| (a, -1)));
                }
            }
        }
        let mut classes = Vec::new();
        let mut uncovered_example = None;
        let mut starts: [Vec<u128>; 2] = [Vec::new(), Vec::new()];
        let mut covered_flags: [Vec<bool>; 2] = [Vec::new(), Vec::new()];
        for family in [Family::V4, Family::V6] {
            let f = family.index();
            cuts[f].sort_unstable();
            cuts[f].dedup();
            coverage[f].sort_unstable();
            let mut depth = 0i64;
            let mut events = coverage[f].iter().peekable();
            for (i, &start) in cuts[f].iter().enumerate() {
                while let Some(&&(at, delta)) = events.peek() {
                    if at > start {
                        break;
                    }
                    depth += delta;
                    events.next();
                }
                let last = cuts[f].get(i + 1).map_or(family.max(), |next| next - 1);
                let range = AddressRange {
                    family,
                    first: start,
                    last,
                };
                starts[f].push(start);
                covered_flags[f].push(depth > 0);
                if depth > 0 {
                    classes.push(AddressClass::Range(range));
                } else if uncovered_example.is_none() {
                    uncovered_example = Some(range);
                }
            }
        }
        let any_uncovered = covered_flags.iter().flatten().any(|c| !c);
        let outside = classes.len() as u32;
        if any_uncovered {
            classes.push(AddressClass::OutsideEveryCidr {
                example: uncovered_example,
            });
        }
        let mut next = 0u32;
        let class_of_interval = covered_flags.map(|flags| {
            flags
                .into_iter()
                .map(|covered| {
                    if covered {
                        next += 1;
                        next - 1
                    } else {
                        outside
                    }
                })
                .collect()
        });
        AddressSpace {
            classes,
            starts,
            class_of_interval,
        }
    }

    pub fn classes(&self) -> &[AddressClass] {
        &self.classes
    }

    /// The class of one address.
    pub fn class_of(&self, address: IpAddr) -> u32 {
        let f = family_of(&address).index();
        let value = to_u128(address);
        let interval = self.starts[f].partition_point(|&s| s <= value) - 1;
        self.class_of_interval[f][interval]
    }

    /// The classes an ipBlock matches, sorted. Every interval is elementary, so an
    /// interval lies wholly inside or wholly outside each cidr and except.
    pub fn members(&self, block: &IpBlock) -> Vec<u32> {
        let f = family_of(&block.cidr.network()).index();
        let span = |net: &IpNet| {
            let range = AddressRange::of_net(net);
            let from = self.starts[f].partition_point(|&s| s < range.first);
            let to = self.starts[f].partition_point(|&s| s <= range.last);
            from..to
        };
        let excepts: Vec<_> = block
            .except
            .iter()
            .filter(|e| family_of(&e.network()).index() == f)
            .map(span)
            .collect();
        span(&block.cidr)
            .filter(|i| !excepts.iter().any(|e| e.contains(i)))
            .map(|i| self.class_of_interval[f][i])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(cidr: &str, except: &[&str]) -> IpBlock {
        IpBlock {
            cidr: cidr.parse().unwrap(),
            except: except.iter().map(|e| e.parse().unwrap()).collect(),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs_and_excepts_cut_the_space() {
        let everything = block("0.0.0.0/0", &["10.0.0.0/8", "192.168.0.0/16"]);
        let web = block("203.0.113.0/24", &[]);
        let space = AddressSpace::new([&everything, &web]);
        // 0/0 is cut at 10/8, 11/8, 192.168/16, 192.169/16, 203.0.113/24, 203.0.114/24;
        // IPv6 stays one uncovered interval.
        let ranges: Vec<String> = space.classes().iter().map(ToString::to_string).collect();
        assert_eq!(ranges.len(), 8, "{ranges:?}");
        assert_eq!(ranges[1], "10.0.0.0/8");
        assert_eq!(ranges[5], "203.0.113.0/24");
        assert_eq!(
            ranges[7],
            "any address outside every ipBlock CIDR (e.g. ::)"
        );
        let members = space.members(&everything);
        assert!(!members.contains(&space.class_of(ip("10.1.2.3"))));
        assert!(members.contains(&space.class_of(ip("8.8.8.8"))));
        assert!(members.contains(&space.class_of(ip("203.0.113.9"))));
        assert_eq!(
            space.members(&web),
            vec![space.class_of(ip("203.0.113.200"))]
        );
        assert_eq!(space.class_of(ip("2001:db8::1")), 7);
    }

    #[test]
    fn membership_agrees_with_the_per_address_definition() {
        let blocks = [
            block("10.0.0.0/8", &["10.1.0.0/16", "10.1.2.0/24"]),
            block("10.1.2.0/23", &[]),
            block("fd00::/8", &["fd00::/16"]),
        ];
        let space = AddressSpace::new(&blocks);
        let probes = [
            "9.255.255.255",
            "10.0.0.0",
            "10.1.0.1",
            "10.1.2.3",
            "10.1.3.255",
            "10.1.4.0",
            "10.255.255.255",
            "11.0.0.0",
            "fd00::1",
            "fd01::1",
            "fe00::",
        ];
        for b in &blocks {
            let members = space.members(b);
            for p in probes {
                assert_eq!(
                    members.contains(&space.class_of(ip(p))),
                    b.matches(ip(p)),
                    "{p} in {b:?}"
                );
            }
        }
    }

    #[test]
    fn ranges_print_as_cidrs_when_they_can() {
        let r = AddressRange {
            family: Family::V4,
            first: to_u128(ip("10.0.0.0")),
            last: to_u128(ip("10.0.2.255")),
        };
        assert_eq!(r.to_string(), "10.0.0.0/23 + 10.0.2.0/24");
        let all = AddressRange {
            family: Family::V6,
            first: 0,
            last: u128::MAX,
        };
        assert_eq!(all.to_string(), "::/0");
        let odd = AddressRange {
            family: Family::V4,
            first: 1,
            last: 254,
        };
        assert_eq!(odd.to_string(), "0.0.0.1 - 0.0.0.254");
        assert_eq!(odd.cidrs().len(), 14);
    }

    #[test]
    fn a_full_cover_leaves_no_outside_class() {
        let space = AddressSpace::new(&[block("0.0.0.0/0", &[]), block("::/0", &[])]);
        assert_eq!(space.classes().len(), 2);
        assert!(
            space
                .classes()
                .iter()
                .all(|c| matches!(c, AddressClass::Range(_)))
        );
    }
}
