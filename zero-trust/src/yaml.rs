//! The one module that touches `serde_yaml`.
//!
//! Upstream marks serde_yaml deprecated; keeping every use behind these few functions makes
//! a switch to another YAML crate a one-file change.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A YAML or JSON error with the position where it happened, if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    /// 1-based line and column in the text.
    pub position: Option<(usize, usize)>,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "line {line}, column {column}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for YamlError {}

impl From<serde_yaml::Error> for YamlError {
    fn from(error: serde_yaml::Error) -> Self {
        YamlError {
            position: error.location().map(|l| (l.line(), l.column())),
            message: error.to_string(),
        }
    }
}

/// One value as a YAML document, without the leading `---`.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, YamlError> {
    Ok(serde_yaml::to_string(value)?)
}

/// Every document of a multi-document YAML stream (JSON is YAML too), as generic values;
/// empty documents (a stray `---`) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, YamlError> {
    let mut values = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(document)?;
        if value.is_null() {
            continue;
        }
        values.push(serde_json::to_value(&value).map_err(|e| YamlError {
            message: e.to_string(),
            position: None,
        })?);
    }
    Ok(values)
}

/// A typed object from a generic value (one document of [`parse_documents`]).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, YamlError> {
    serde_json::from_value(value).map_err(|e| YamlError {
        message: e.to_string(),
        position: None,
    })
}
