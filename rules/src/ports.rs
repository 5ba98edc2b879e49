//! Ports and protocols of a NetworkPolicy port rule.
//!
//! Follows `NetworkPolicyPort` in `k8s.io/api/networking/v1/types.go` and its validation in
//! `pkg/apis/networking/validation/validation.go` (`ValidateNetworkPolicyPort`): a port is
//! 1..=65535, `endPort` needs `port`, is not below it, and the protocol is TCP (the
//! default), UDP or SCTP.

use std::fmt;

/// The lowest port: `NetworkPolicyPort.port` documents no port 0 and
/// `ValidateNetworkPolicyPort` rejects it (`IsValidPortNum`).
pub const FIRST_PORT: u16 = 1;
/// The highest port, the largest `u16`.
pub const LAST_PORT: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// The spelling of the Kubernetes API (`protocol: TCP`).
    pub const fn as_k8s(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// The spelling of the DSL (`53/udp`).
    pub const fn as_dsl(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    pub fn from_dsl(word: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.as_dsl() == word)
    }

    pub fn from_k8s(word: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.as_k8s() == word)
    }
}

/// An inclusive range of ports of one protocol; a single port has `first == last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub protocol: Protocol,
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub const fn single(protocol: Protocol, port: u16) -> PortRange {
        PortRange {
            protocol,
            first: port,
            last: port,
        }
    }

    /// Whether every port of `other` is in `self`; usable in const checks across files.
    pub const fn covers(&self, other: &PortRange) -> bool {
        self.protocol as u8 == other.protocol as u8
            && self.first <= other.first
            && other.last <= self.last
    }

    pub const fn is_single(&self) -> bool {
        self.first == self.last
    }

    /// Every port of `protocol`: what the DSL's `any/tcp` stands for, and what a
    /// `NetworkPolicyPort` with a protocol and no port allows ("If this field is not
    /// provided, this matches all port names and numbers", `NetworkPolicyPort.port`).
    pub const fn every(protocol: Protocol) -> PortRange {
        PortRange {
            protocol,
            first: FIRST_PORT,
            last: LAST_PORT,
        }
    }

    pub const fn is_every(&self) -> bool {
        self.first == FIRST_PORT && self.last == LAST_PORT
    }

    /// How the DSL writes it: `8080` (TCP, the default, goes unwritten), `53/udp`,
    /// `30000..=32767`, and `any/udp` for every port of a protocol. Code that writes
    /// `zero_trust!` blocks (synth, import) spells ports this way.
    pub fn to_dsl(&self) -> String {
        let number = if self.is_every() {
            return format!("any/{}", self.protocol.as_dsl());
        } else if self.is_single() {
            self.first.to_string()
        } else {
            format!("{}..={}", self.first, self.last)
        };
        match self.protocol {
            Protocol::Tcp => number,
            other => format!("{number}/{}", other.as_dsl()),
        }
    }
}

/// Whether a flow's ports are checked against the ports its target declares. A target in
/// a managed namespace always is: zero-trust writes its ingress and knows what it serves.
/// A target in a namespace we do not manage is checked only where its declaration lists
/// ports; declared without any, nobody here can know what it listens on, so every port
/// may be named (the guide's "Allow Multiple Ports" egress to `prod-database`).
pub const fn ports_are_checked(managed: bool, declared: &[PortRange]) -> bool {
    managed || !declared.is_empty()
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_every() {
            write!(f, "any/{}", self.protocol.as_dsl())
        } else if self.is_single() {
            write!(f, "{}/{}", self.first, self.protocol.as_dsl())
        } else {
            write!(
                f,
                "{}..={}/{}",
                self.first,
                self.last,
                self.protocol.as_dsl()
            )
        }
    }
}

/// Checks a port or range as written (wider than `u16`, so 70000 is reported, not wrapped).
pub fn check_port_range(first: u64, last: Option<u64>) -> Result<(u16, u16), String> {
    let valid = u64::from(FIRST_PORT)..=u64::from(LAST_PORT);
    if !valid.contains(&first) {
        return Err(format!(
            "port {first} is out of range; ports are {FIRST_PORT} to {LAST_PORT}"
        ));
    }
    let Some(last) = last else {
        return Ok((first as u16, first as u16));
    };
    if !valid.contains(&last) {
        return Err(format!(
            "port {last} is out of range; ports are {FIRST_PORT} to {LAST_PORT}"
        ));
    }
    if last < first {
        return Err(format!(
            "port range {first}..={last} is reversed; write `{last}..={first}`"
        ));
    }
    if last == first {
        return Err(format!(
            "port range {first}..={last} holds a single port; write `{first}`"
        ));
    }
    Ok((first as u16, last as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_bounds_follow_the_api() {
        assert_eq!(check_port_range(1, None), Ok((1, 1)));
        assert_eq!(check_port_range(65535, None), Ok((65535, 65535)));
        assert!(check_port_range(0, None).is_err());
        assert!(check_port_range(65536, None).is_err());
        assert_eq!(check_port_range(30000, Some(32767)), Ok((30000, 32767)));
        assert!(
            check_port_range(10, Some(9))
                .unwrap_err()
                .contains("reversed")
        );
        assert!(check_port_range(10, Some(10)).is_err());
        assert!(check_port_range(10, Some(70000)).is_err());
    }

    #[test]
    fn coverage_needs_the_same_protocol() {
        let tcp = PortRange {
            protocol: Protocol::Tcp,
            first: 8000,
            last: 8100,
        };
        assert!(tcp.covers(&PortRange::single(Protocol::Tcp, 8080)));
        assert!(!tcp.covers(&PortRange::single(Protocol::Udp, 8080)));
        assert!(!tcp.covers(&PortRange {
            protocol: Protocol::Tcp,
            first: 8050,
            last: 8200
        }));
    }
}
