//! Label selectors (`metav1.LabelSelector`) compiled to requirements and matched on labels.
//!
//! Follows `LabelSelectorAsSelector` in `k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go`
//! and the operators of `k8s.io/apimachinery/pkg/labels/selector.go`: every `matchLabels`
//! entry is the requirement `key In (value)`, all requirements are ANDed, and a selector with
//! no requirement selects everything. ("The result of matchLabels and matchExpressions are
//! ANDed. An empty label selector matches all objects." — `LabelSelector` in
//! `k8s.io/apimachinery/pkg/apis/meta/v1/types.go`.)

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub type Labels = BTreeMap<String, String>;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Requirement {
    /// The label is present and its value is one of these.
    In {
        key: String,
        values: BTreeSet<String>,
    },
    /// The label is absent, or present with a value not among these (`selector.go`:
    /// "NotIn ... the label does not exist or its value is not in the set").
    NotIn {
        key: String,
        values: BTreeSet<String>,
    },
    Exists {
        key: String,
    },
    DoesNotExist {
        key: String,
    },
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::In { key, values } => labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn { key, values } => {
                labels.get(key).is_none_or(|v| !values.contains(v))
            }
            Requirement::Exists { key } => labels.contains_key(key),
            Requirement::DoesNotExist { key } => !labels.contains_key(key),
        }
    }
}

/// A compiled selector: requirements sorted and deduplicated, so two selectors that select
/// the same way written in a different order compare (and hash) equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The empty selector: every object.
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// Selects nothing: one requirement no label set meets.
    pub fn nothing() -> Selector {
        Selector {
            requirements: vec![Requirement::In {
                key: String::new(),
                values: BTreeSet::new(),
            }],
        }
    }

    /// Compiles a selector the API server's validation accepted (`crate::validate`, the
    /// one validator: `In`/`NotIn` with values, `Exists`/`DoesNotExist` without, no other
    /// operator). An operator it would refuse selects nothing here.
    pub fn compile(selector: &LabelSelector) -> Selector {
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::In {
                key: key.clone(),
                values: BTreeSet::from([value.clone()]),
            });
        }
        for expression in selector.match_expressions.iter().flatten() {
            let key = expression.key.clone();
            let values: BTreeSet<String> = expression.values.iter().flatten().cloned().collect();
            requirements.push(match expression.operator.as_str() {
                "NotIn" => Requirement::NotIn { key, values },
                "Exists" => Requirement::Exists { key },
                "DoesNotExist" => Requirement::DoesNotExist { key },
                "In" => Requirement::In { key, values },
                _ => Requirement::In {
                    key,
                    values: BTreeSet::new(),
                },
            });
        }
        requirements.sort();
        requirements.dedup();
        Selector { requirements }
    }

    pub fn selects_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The `In` requirement with the fewest values: a label index can enumerate its
    /// candidates instead of scanning every object.
    pub fn narrowest_in(&self) -> Option<(&str, &BTreeSet<String>)> {
        self.requirements
            .iter()
            .filter_map(|r| match r {
                Requirement::In { key, values } => Some((key.as_str(), values)),
                _ => None,
            })
            .min_by_key(|(_, values)| values.len())
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.requirements.is_empty() {
            return f.write_str("{}");
        }
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let join =
                |values: &BTreeSet<String>| values.iter().cloned().collect::<Vec<_>>().join(",");
            match r {
                Requirement::In { key, values } if values.len() == 1 => {
                    write!(f, "{key}={}", join(values))?
                }
                Requirement::In { key, values } => write!(f, "{key} in ({})", join(values))?,
                Requirement::NotIn { key, values } => write!(f, "{key} notin ({})", join(values))?,
                Requirement::Exists { key } => write!(f, "{key}")?,
                Requirement::DoesNotExist { key } => write!(f, "!{key}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn selector(
        match_labels: &[(&str, &str)],
        expressions: Vec<LabelSelectorRequirement>,
    ) -> Selector {
        Selector::compile(&LabelSelector {
            match_labels: (!match_labels.is_empty()).then(|| labels(match_labels)),
            match_expressions: (!expressions.is_empty()).then_some(expressions),
        })
    }

    #[test]
    fn empty_selector_selects_everything() {
        let s = selector(&[], vec![]);
        assert!(s.selects_everything());
        assert!(s.matches(&labels(&[])));
        assert!(s.matches(&labels(&[("app", "x")])));
    }

    #[test]
    fn match_labels_and_expressions_are_anded() {
        let s = selector(
            &[("app", "api")],
            vec![expression("tier", "In", &["web", "db"])],
        );
        assert!(s.matches(&labels(&[("app", "api"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("app", "api")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "db")])));
    }

    #[test]
    fn operators_follow_the_labels_package() {
        let not_in = selector(&[], vec![expression("env", "NotIn", &["prod"])]);
        assert!(
            not_in.matches(&labels(&[])),
            "NotIn matches an absent label"
        );
        assert!(not_in.matches(&labels(&[("env", "dev")])));
        assert!(!not_in.matches(&labels(&[("env", "prod")])));
        let exists = selector(&[], vec![expression("env", "Exists", &[])]);
        assert!(exists.matches(&labels(&[("env", "")])) && !exists.matches(&labels(&[])));
        let absent = selector(&[], vec![expression("env", "DoesNotExist", &[])]);
        assert!(!absent.matches(&labels(&[("env", "x")])) && absent.matches(&labels(&[])));
    }

    #[test]
    fn order_does_not_matter() {
        let a = selector(&[("a", "1"), ("b", "2")], vec![]);
        let b = selector(&[("b", "2")], vec![expression("a", "In", &["1"])]);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "a=1, b=2");
    }
}
