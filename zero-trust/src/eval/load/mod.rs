//! Loading NetworkPolicies, Namespaces, Pods and workloads from YAML or JSON files.
//!
//! Accepts multi-document streams, `kind: List` (and `*List`) objects with `items`, and
//! JSON. Every object is understood or reported, never dropped without a word: see
//! `objects.rs` for what each kind contributes. Every failure names the file, the document
//! and, where known, the line and column; nothing here panics on bad input.

use std::fmt;
use std::path::{Path, PathBuf};

use super::topology::{Inputs, Provenance};
use crate::yaml;

mod files;
mod objects;

pub use files::{load_dir, load_file, special_file_kind};

/// A file that could not be read, parsed or understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 0-based document of the stream, when the file parsed far enough to know it.
    pub document: Option<usize>,
    pub item: Option<usize>,
    /// 1-based line and column: of a YAML syntax error, or, for an object that does not
    /// deserialize, the first line of its document (column 1).
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(document) = self.document {
            write!(f, ", document {}", document + 1)?;
        }
        if let Some(item) = self.item {
            write!(f, ", item {item}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Reads YAML or JSON text into `inputs`; `file` is only used to say where things came from.
///
/// One document at a time: each is parsed, converted to its typed object and dropped
/// before the next is parsed, so memory is the text plus the objects read, plus one
/// document's parse (a 200 MB stream of NetworkPolicies peaked at 4.7 GiB when the whole
/// stream was first parsed into generic values).
pub fn load_str(inputs: &mut Inputs, file: &Path, text: &str) -> Result<(), Vec<LoadError>> {
    let (outline, documents) =
        yaml::documents(text).map_err(|e| vec![yaml_error(file, e, None)])?;
    // The first lines the pre-scan found, trusted only while its non-empty documents are
    // the parser's: the k-th document yielded must be the k-th with content in the outline.
    let mut nonempty = outline
        .starts
        .iter()
        .enumerate()
        .filter_map(|(document, line)| line.map(|line| (document, line.get())));
    let mut errors = Vec::new();
    for document in documents {
        let (document, value) = match document {
            Ok(document) => document,
            Err(e) => {
                let line = e
                    .document
                    .and_then(|d| outline.starts.get(d).copied().flatten())
                    .map(std::num::NonZeroUsize::get);
                errors.push(yaml_error(file, e, line));
                break;
            }
        };
        let source = Provenance {
            file: file.to_owned(),
            document,
            item: None,
            line: match nonempty.next() {
                Some((d, line)) if d == document => Some(line),
                _ => None,
            },
        };
        objects::load_document(inputs, value, &source, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Adds to `inputs` a policy already read from the same text elsewhere (where reading the
/// text again would give it), with the check reading it would make: one policy per
/// namespace and name.
pub fn add_loaded(inputs: &mut Inputs, loaded: super::LoadedPolicy) -> Result<(), LoadError> {
    let source = loaded.source.clone();
    objects::add_loaded_policy(inputs, loaded)
        .map_err(|message| objects::error_at(&source, message))
}

/// A parser error; when the parser knows no position (e.g. aliases that expand too far),
/// the first line of its document stands in.
fn yaml_error(file: &Path, error: yaml::YamlError, document_line: Option<usize>) -> LoadError {
    let message = if error.message.starts_with("repetition limit exceeded") {
        "aliases (`*name`) expand to too many nodes (repetition limit exceeded); \
         write the values out or remove the aliases"
            .to_owned()
    } else {
        error.message
    };
    LoadError {
        file: file.to_owned(),
        document: error.document,
        item: None,
        position: error.position.or(document_line.map(|line| (line, 1))),
        message,
    }
}

#[cfg(test)]
mod tests;
