//! The rules of a label selector, a workload's or the namespaces' of `external namespaces`:
//! `"app" = "web"` (`matchLabels`) and the set-based requirements (`matchExpressions`)
//! `in`, `not in`, exists and `!` (does not exist), as the API server validates them and
//! as they can be met by some pod or namespace.
//! <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#set-based-requirement>

use std::collections::{BTreeMap, BTreeSet};

use syn::LitStr;
use zero_trust_rules::{NAMESPACE_NAME_LABEL, check_label_key, check_label_value};

use crate::ast::{LabelDecl, LabelMatch, Labels};
use crate::checked::{CheckedExpression, CheckedSelector};
use crate::ctxt::{Errors, SpanRange};

/// What a selector selects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Selects {
    /// A workload's pods, within its namespace.
    Pods,
    /// The namespaces of `external namespaces`.
    Namespaces,
}

/// The checked selector: its `matchLabels` and its `matchExpressions`.
pub fn check_selector(labels: &Labels, selects: Selects, errors: &mut Errors) -> CheckedSelector {
    match selects {
        Selects::Pods => selector_is_not_empty(labels, errors),
        Selects::Namespaces => namespace_name_label_is_not_denied(labels, errors),
    }
    let mut match_labels = Vec::new();
    let mut expressions = Vec::new();
    for label in &labels.labels {
        let key = label.key.value();
        key_and_values_are_valid(label, errors);
        match &label.matching {
            LabelMatch::Equals(value) => match_labels.push((key, value.value())),
            LabelMatch::In { not, values, .. } => {
                value_list_is_not_empty(label, errors);
                let operator = if not.is_some() { "NotIn" } else { "In" };
                let values = values.iter().map(LitStr::value).collect();
                expressions.push(CheckedExpression {
                    key,
                    operator,
                    values,
                });
            }
            LabelMatch::Exists => expressions.push(CheckedExpression {
                key,
                operator: "Exists",
                values: Vec::new(),
            }),
            LabelMatch::DoesNotExist(_) => expressions.push(CheckedExpression {
                key,
                operator: "DoesNotExist",
                values: Vec::new(),
            }),
        }
    }
    each_key_is_constrained_once(labels, errors);
    CheckedSelector {
        labels: match_labels,
        expressions,
    }
}

/// Rule: a workload's selector names at least one requirement; `[]` would select every
/// pod of the namespace.
fn selector_is_not_empty(labels: &Labels, errors: &mut Errors) {
    if labels.labels.is_empty() {
        errors.push(labels.bracket, "a workload's label selector is empty, which would select every pod of the namespace; name at least one label, or use the namespace as the flow's end");
    }
}

/// Rule: a namespace selector does not require the name label to be absent: the API
/// server sets `kubernetes.io/metadata.name` on every namespace, so it would match none.
/// <https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-metadata-name>
fn namespace_name_label_is_not_denied(labels: &Labels, errors: &mut Errors) {
    for label in &labels.labels {
        if let LabelMatch::DoesNotExist(bang) = &label.matching
            && label.key.value() == NAMESPACE_NAME_LABEL
        {
            errors.push(
                SpanRange {
                    first: bang.span,
                    last: label.key.span(),
                },
                format!("every namespace has the label `{NAMESPACE_NAME_LABEL}` (the API server sets it), so this selector matches no namespace; remove the requirement"),
            );
        }
    }
}

/// Rule: label keys are qualified names and values valid label values, each value once
/// in a list (`IsQualifiedName`, `IsValidLabelValue`).
fn key_and_values_are_valid(label: &LabelDecl, errors: &mut Errors) {
    let key = label.key.value();
    if let Err(why) = check_label_key(&key) {
        errors.push(label.key.span(), format!("label key `{key}` {why}"));
    }
    let values = match &label.matching {
        LabelMatch::Equals(value) => std::slice::from_ref(value),
        LabelMatch::In { values, .. } => values.as_slice(),
        LabelMatch::Exists | LabelMatch::DoesNotExist(_) => &[],
    };
    let mut seen = BTreeSet::new();
    for value in values {
        let text = value.value();
        if let Err(why) = check_label_value(&text) {
            errors.push(value.span(), format!("label value `{text}` {why}"));
        }
        if !seen.insert(text.clone()) {
            errors.push(
                value.span(),
                format!("label value `{text}` is listed twice; remove one"),
            );
        }
    }
}

/// Rule: `in` and `not in` list at least one value, as the API server requires of `In`
/// and `NotIn` (`ValidateLabelSelectorRequirement`: "must be specified when `operator`
/// is 'In' or 'NotIn'").
fn value_list_is_not_empty(label: &LabelDecl, errors: &mut Errors) {
    let LabelMatch::In {
        not,
        bracket,
        values,
    } = &label.matching
    else {
        return;
    };
    if values.is_empty() {
        let key = label.key.value();
        let message = match not {
            None => format!(
                "`\"{key}\" in []` lists no values, which the API server rejects; list at least one value, or write `\"{key}\"` for any value"
            ),
            Some(_) => format!(
                "`\"{key}\" not in []` lists no values, which the API server rejects; list at least one value, or leave the requirement out"
            ),
        };
        errors.push(*bracket, message);
    }
}

/// Rule: each key is constrained once. Where two requirements on one key exclude each
/// other (`"a" = "x"` with `"a" not in ["x"]`), the selector can never match a pod, and
/// the message says so; otherwise the second is redundant or belongs in the first.
fn each_key_is_constrained_once(labels: &Labels, errors: &mut Errors) {
    let mut by_key: BTreeMap<String, Vec<&LabelDecl>> = BTreeMap::new();
    for label in &labels.labels {
        let same_key = by_key.entry(label.key.value()).or_default();
        same_key.push(label);
        let [first, .., _] = same_key.as_slice() else {
            continue;
        };
        let key = label.key.value();
        let message = if matches!(
            (&first.matching, &label.matching),
            (LabelMatch::Equals(_), LabelMatch::Equals(_))
        ) {
            format!("label key `{key}` is given twice; a pod has one value per key")
        } else if !can_be_met_together(same_key) {
            format!(
                "this selector can never match a pod: {} and {} exclude each other; remove one",
                written(first),
                written(label)
            )
        } else {
            format!("label key `{key}` is constrained twice; write one requirement per key")
        };
        errors.push(span(label), message);
    }
}

/// Whether some pod's value of the key (or its lack of the key) meets every requirement.
/// Enough to try: no label, every value the requirements name, and one they do not.
fn can_be_met_together(requirements: &[&LabelDecl]) -> bool {
    let named: Vec<String> = requirements
        .iter()
        .flat_map(|label| match &label.matching {
            LabelMatch::Equals(value) => vec![value.value()],
            LabelMatch::In { values, .. } => values.iter().map(LitStr::value).collect(),
            LabelMatch::Exists | LabelMatch::DoesNotExist(_) => Vec::new(),
        })
        .collect();
    // Not a valid label value, so not among the named ones.
    let unnamed = " ".to_owned();
    let candidates = std::iter::once(None)
        .chain(named.iter().map(Some))
        .chain(std::iter::once(Some(&unnamed)));
    candidates.into_iter().any(|value| {
        requirements
            .iter()
            .all(|label| holds_for(&label.matching, value.map(String::as_str)))
    })
}

/// Kubernetes' reading of one requirement for a pod whose value of the key is `value`.
fn holds_for(matching: &LabelMatch, value: Option<&str>) -> bool {
    match (matching, value) {
        (LabelMatch::Equals(wanted), value) => value == Some(wanted.value().as_str()),
        (LabelMatch::In { not, values, .. }, value) => {
            let listed = value.is_some_and(|v| values.iter().any(|w| w.value() == v));
            if not.is_some() { !listed } else { listed }
        }
        (LabelMatch::Exists, value) => value.is_some(),
        (LabelMatch::DoesNotExist(_), value) => value.is_none(),
    }
}

/// The requirement as the user wrote it, for messages.
fn written(label: &LabelDecl) -> String {
    let key = label.key.value();
    let list = |values: &[LitStr]| {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("\"{}\"", v.value()))
            .collect();
        values.join(", ")
    };
    match &label.matching {
        LabelMatch::Equals(value) => format!("`\"{key}\" = \"{}\"`", value.value()),
        LabelMatch::In {
            not: None, values, ..
        } => format!("`\"{key}\" in [{}]`", list(values)),
        LabelMatch::In {
            not: Some(_),
            values,
            ..
        } => {
            format!("`\"{key}\" not in [{}]`", list(values))
        }
        LabelMatch::Exists => format!("`\"{key}\"`"),
        LabelMatch::DoesNotExist(_) => format!("`!\"{key}\"`"),
    }
}

/// From the first token of a requirement to its key.
fn span(label: &LabelDecl) -> SpanRange {
    match &label.matching {
        LabelMatch::DoesNotExist(bang) => SpanRange {
            first: bang.span,
            last: label.key.span(),
        },
        _ => label.key.span().into(),
    }
}
