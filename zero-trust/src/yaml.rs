//! The one module that touches the YAML crate: `yaml_serde`, the YAML organization's
//! maintained fork of the archived `serde_yaml` (same API; `serde_yml` is no option, see
//! RUSTSEC-2025-0068). Every use stays behind these few functions, so a switch is a
//! one-file change.

mod outline;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use outline::{MAX_FLOW_DEPTH, Outline, outline};

/// A YAML or JSON error with the position where it happened, if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    /// 1-based line and column in the text.
    pub position: Option<(usize, usize)>,
    /// 0-based document of the stream, counting empty ones, when the error is in one.
    pub document: Option<usize>,
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

impl From<yaml_serde::Error> for YamlError {
    fn from(error: yaml_serde::Error) -> Self {
        YamlError {
            position: error.location().map(|l| (l.line(), l.column())),
            message: error.to_string(),
            document: None,
        }
    }
}

/// One value as a YAML document, without the leading `---`.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, YamlError> {
    Ok(yaml_serde::to_string(value)?)
}

/// One document of [`documents`]: its 0-based index in the stream and its value.
pub type ParsedDocument = Result<(usize, serde_json::Value), YamlError>;

/// Every non-empty document of a multi-document YAML stream (JSON is YAML too) as a
/// generic value with its 0-based index in the stream (empty documents, a stray `---`,
/// count but are not yielded), one at a time: only one document's parse is held in
/// memory, and the caller can drop each value once it has read it. Stops after the first
/// error, as the parser cannot go on after a syntax error.
///
/// Text whose flow collections nest too deeply is refused before parsing; the
/// [`Outline`] of that pre-scan comes with the documents.
pub fn documents(text: &str) -> Result<(Outline, impl Iterator<Item = ParsedDocument>), YamlError> {
    let outline = outline(text)?;
    let mut stream = Some(yaml_serde::Deserializer::from_str(text).enumerate());
    let documents = std::iter::from_fn(move || {
        loop {
            let (index, document) = stream.as_mut()?.next()?;
            // Straight into serde_json's value: no yaml_serde::Value in between.
            match serde_json::Value::deserialize(document) {
                Ok(serde_json::Value::Null) => continue,
                Ok(value) => return Some(Ok((index, value))),
                Err(error) => {
                    stream = None;
                    return Some(Err(YamlError {
                        document: Some(index),
                        ..YamlError::from(error)
                    }));
                }
            }
        }
    });
    Ok((outline, documents))
}

/// Every document of [`documents`], collected.
pub fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, YamlError> {
    let (_, documents) = documents(text)?;
    documents.map(|d| d.map(|(_, value)| value)).collect()
}

/// A typed object from a generic value (one document of [`documents`]).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, YamlError> {
    serde_json::from_value(value).map_err(|e| YamlError {
        message: e.to_string(),
        position: None,
        document: None,
    })
}
