//! CIDRs of an `ipBlock`, as the API server validates them.
//!
//! Follows `ValidateIPBlock` in `pkg/apis/networking/validation/validation.go`: `cidr` is a
//! valid CIDR, and each `except` entry is a CIDR of the same family that is a strict subset
//! of it. zero-trust also insists on the canonical form (no host bits set, as the API
//! server's strict CIDR validation does), because `10.1.2.3/8` almost always hides a typo,
//! and the canonical spelling (no leading zeros, lowercase IPv6), so the text emitted is
//! the text written.

use std::fmt;

use ipnet::IpNet;

/// A canonical CIDR block: the network address with its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(pub IpNet);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    Invalid { text: String },
    HostBitsSet { text: String, canonical: String },
    NotCanonical { text: String, canonical: String },
    Ipv4Mapped { text: String },
    ExceptNotSubset { except: String, cidr: String },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::Invalid { text } => write!(
                f,
                "`{text}` is not a CIDR; write an address and a prefix length, like `10.0.0.0/8` or `fd00::/8`"
            ),
            CidrError::HostBitsSet { text, canonical } => {
                write!(f, "`{text}` has host bits set; did you mean `{canonical}`?")
            }
            CidrError::NotCanonical { text, canonical } => {
                write!(f, "`{text}` is not in canonical form; write `{canonical}`")
            }
            CidrError::Ipv4Mapped { text } => write!(
                f,
                "`{text}` is an IPv4-mapped IPv6 CIDR, which the API server rejects; write the IPv4 CIDR"
            ),
            CidrError::ExceptNotSubset { except, cidr } => write!(
                f,
                "except `{except}` is not a strict subset of `{cidr}`; an except entry must lie inside its CIDR and be smaller"
            ),
        }
    }
}

impl std::error::Error for CidrError {}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Cidr {
    /// Whether `other` lies inside `self` and is smaller than it.
    pub fn strictly_contains(&self, other: &Cidr) -> bool {
        self.0.prefix_len() < other.0.prefix_len() && self.0.contains(&other.0)
    }
}

pub fn parse_cidr(text: &str) -> Result<Cidr, CidrError> {
    let net: IpNet = text.parse().map_err(|_| CidrError::Invalid {
        text: text.to_owned(),
    })?;
    let canonical = net.trunc();
    if canonical != net {
        return Err(CidrError::HostBitsSet {
            text: text.to_owned(),
            canonical: canonical.to_string(),
        });
    }
    if let IpNet::V6(v6) = net
        && v6.addr().to_ipv4_mapped().is_some()
    {
        return Err(CidrError::Ipv4Mapped {
            text: text.to_owned(),
        });
    }
    if net.to_string() != text {
        return Err(CidrError::NotCanonical {
            text: text.to_owned(),
            canonical: net.to_string(),
        });
    }
    Ok(Cidr(net))
}

/// Parses an `except` entry and checks that it is a strict subset of `cidr`.
pub fn parse_except(cidr: &Cidr, text: &str) -> Result<Cidr, CidrError> {
    let except = parse_cidr(text)?;
    if !cidr.strictly_contains(&except) {
        return Err(CidrError::ExceptNotSubset {
            except: text.to_owned(),
            cidr: cidr.to_string(),
        });
    }
    Ok(except)
}

/// A CIDR as the API server accepts it in a NetworkPolicy it is given: host bits are
/// cleared, not refused (`ValidateIPBlock` parses with `net.ParseCIDR`, which returns the
/// network). zero-trust writes only canonical CIDRs ([`parse_cidr`]); this reads others'.
pub fn parse_cidr_as_given(text: &str) -> Result<Cidr, CidrError> {
    match parse_cidr(text) {
        Err(CidrError::HostBitsSet { .. } | CidrError::NotCanonical { .. }) => text
            .parse::<IpNet>()
            .map(|net| Cidr(net.trunc()))
            .map_err(|_| CidrError::Invalid {
                text: text.to_owned(),
            }),
        other => other,
    }
}

/// An `except` entry as the API server accepts it: read as [`parse_cidr_as_given`], then a
/// strict subset of its CIDR ("must be a strict subset of `cidr`": it contains the
/// entry's network address, and its prefix is shorter).
pub fn parse_except_as_given(cidr: &Cidr, text: &str) -> Result<Cidr, CidrError> {
    let except = parse_cidr_as_given(text)?;
    if !cidr.strictly_contains(&except) {
        return Err(CidrError::ExceptNotSubset {
            except: text.to_owned(),
            cidr: cidr.to_string(),
        });
    }
    Ok(except)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_as_given_clear_host_bits_as_the_api_server_does() {
        let cidr = parse_cidr_as_given("10.1.2.3/8").unwrap();
        assert_eq!(cidr.to_string(), "10.0.0.0/8");
        assert_eq!(
            parse_except_as_given(&cidr, "10.1.2.3/16")
                .unwrap()
                .to_string(),
            "10.1.0.0/16"
        );
        assert!(matches!(
            parse_except_as_given(&cidr, "10.1.2.3/8"),
            Err(CidrError::ExceptNotSubset { .. })
        ));
        assert!(matches!(
            parse_cidr_as_given("10.0.0.0/33"),
            Err(CidrError::Invalid { .. })
        ));
    }

    #[test]
    fn canonical_cidrs_parse() {
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(parse_cidr("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert!(matches!(
            parse_cidr("10.0.0.0"),
            Err(CidrError::Invalid { .. })
        ));
        assert!(matches!(
            parse_cidr("10.0.0.0/33"),
            Err(CidrError::Invalid { .. })
        ));
        assert_eq!(
            parse_cidr("10.1.2.3/8"),
            Err(CidrError::HostBitsSet {
                text: "10.1.2.3/8".into(),
                canonical: "10.0.0.0/8".into()
            })
        );
    }

    #[test]
    fn only_the_canonical_spelling_is_accepted() {
        for (text, canonical) in [("10.0.0.0/08", "10.0.0.0/8"), ("FD00::/8", "fd00::/8")] {
            assert_eq!(
                parse_cidr(text),
                Err(CidrError::NotCanonical {
                    text: text.into(),
                    canonical: canonical.into()
                })
            );
        }
        assert!(parse_cidr("010.0.0.0/8").is_err());
        assert!(matches!(
            parse_cidr("::ffff:10.0.0.0/104"),
            Err(CidrError::Ipv4Mapped { .. })
        ));
    }

    #[test]
    fn except_must_be_a_strict_subset() {
        let all = parse_cidr("0.0.0.0/0").unwrap();
        assert!(parse_except(&all, "10.0.0.0/8").is_ok());
        assert!(
            parse_except(&all, "0.0.0.0/0").is_err(),
            "equal is not strict"
        );
        let ten = parse_cidr("10.0.0.0/8").unwrap();
        assert!(parse_except(&ten, "192.168.0.0/16").is_err(), "outside");
        assert!(parse_except(&ten, "fd00::/8").is_err(), "other family");
    }
}
