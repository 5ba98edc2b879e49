//! Finding and reading the files of a folder: regular files only, each once.
//!
//! `verify` is pointed at folders it did not write, so the walk must end on any tree: a
//! FIFO named `*.yaml` would block a read forever, so only regular files are opened (the
//! type is checked before opening); a symlink loop would be walked until the path grew
//! too long (each file was read 41 times), so every folder and file is read once, keyed by
//! its canonical path, and a link back to a folder being read is reported once. Memory is
//! the text of one file at a time plus what it contains: see [`super::load_str`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{LoadError, load_str};
use crate::eval::topology::Inputs;

/// Loads every `*.yaml`, `*.yml` and `*.json` file under `dir` (recursively, in path order,
/// following symlinks, each file once).
pub fn load_dir(dir: &Path) -> Result<Inputs, Vec<LoadError>> {
    let mut walk = Walk::default();
    walk.folder(dir, &mut Vec::new());
    let mut inputs = Inputs::default();
    let mut errors = walk.errors;
    for file in walk.files {
        if let Err(mut e) = load_file(&mut inputs, &file) {
            errors.append(&mut e);
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

#[derive(Default)]
struct Walk {
    /// Canonical paths of the folders and files already taken.
    seen: HashSet<PathBuf>,
    /// In path order: a depth-first walk over entries sorted by name is path order.
    files: Vec<PathBuf>,
    errors: Vec<LoadError>,
}

impl Walk {
    /// `ancestors`: canonical paths of the folders being walked, to tell a loop from a
    /// second link to a folder read elsewhere (skipped quietly: its files are read once).
    fn folder(&mut self, dir: &Path, ancestors: &mut Vec<PathBuf>) {
        let canonical = match dir.canonicalize() {
            Ok(canonical) => canonical,
            Err(e) => return self.errors.push(io_error(dir, &e)),
        };
        if let Some(ancestor) = ancestors.iter().find(|a| **a == canonical) {
            return self.errors.push(file_error(
                dir,
                format!(
                    "symlink loop: this folder is `{}`, which is being read already; \
                     its files were read once, from there; remove the link",
                    ancestor.display()
                ),
            ));
        }
        if !self.seen.insert(canonical.clone()) {
            return;
        }
        let entries = std::fs::read_dir(dir).and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.path()))
                .collect::<std::io::Result<Vec<_>>>()
        });
        let mut entries = match entries {
            Ok(entries) => entries,
            Err(e) => return self.errors.push(io_error(dir, &e)),
        };
        entries.sort();
        ancestors.push(canonical);
        for path in entries {
            let wanted = is_yaml_name(&path);
            // Follows symlinks; a stat, never an open.
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.folder(&path, ancestors),
                Ok(meta) if wanted && !meta.is_file() => {
                    self.errors.push(not_regular(&path, &meta))
                }
                Ok(_) if wanted => match path.canonicalize() {
                    Ok(canonical) => {
                        if self.seen.insert(canonical) {
                            self.files.push(path);
                        }
                    }
                    Err(e) => self.errors.push(io_error(&path, &e)),
                },
                // A broken link or an unreadable entry matters only if it would be read.
                Err(e) if wanted => self.errors.push(io_error(&path, &e)),
                _ => {}
            }
        }
        ancestors.pop();
    }
}

fn is_yaml_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn not_regular(path: &Path, meta: &std::fs::Metadata) -> LoadError {
    file_error(
        path,
        format!(
            "is {}, not a regular file, so it was not opened; only regular files are read: \
             move it away or rename it",
            special_file_kind(&meta.file_type())
        ),
    )
}

/// What a file that is neither a regular file, a folder nor a link is, in words: the
/// readers and emit both refuse such files (opening a FIFO would hang).
#[cfg(unix)]
pub fn special_file_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
pub fn special_file_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

fn file_error(file: &Path, message: String) -> LoadError {
    LoadError {
        file: file.to_owned(),
        document: None,
        item: None,
        position: None,
        message,
    }
}

pub(super) fn io_error(file: &Path, error: &std::io::Error) -> LoadError {
    file_error(file, format!("cannot read: {error}"))
}

/// Reads one file into `inputs`: a regular file only, and UTF-8.
pub fn load_file(inputs: &mut Inputs, file: &Path) -> Result<(), Vec<LoadError>> {
    match std::fs::metadata(file) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => {
            return Err(vec![not_regular(file, &meta)]);
        }
        Err(e) => return Err(vec![io_error(file, &e)]),
        Ok(_) => {}
    }
    let bytes = std::fs::read(file).map_err(|e| vec![io_error(file, &e)])?;
    let text = String::from_utf8(bytes)
        .map_err(|e| vec![utf8_error(file, e.utf8_error(), e.as_bytes())])?;
    load_str(inputs, file, &text)
}

/// Where the first byte that is not UTF-8 is: line, column (in bytes) and document.
fn utf8_error(file: &Path, error: std::str::Utf8Error, bytes: &[u8]) -> LoadError {
    let valid = &bytes[..error.valid_up_to()];
    let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + valid.iter().rev().take_while(|&&b| b != b'\n').count();
    let document = std::str::from_utf8(valid)
        .ok()
        .and_then(|text| crate::yaml::outline(text).ok())
        .and_then(|outline| outline.starts.len().checked_sub(1));
    LoadError {
        file: file.to_owned(),
        document,
        item: None,
        position: Some((line, column)),
        message: format!(
            "byte 0x{:02x} is not UTF-8; YAML and JSON must be UTF-8: re-encode the file (e.g. with iconv)",
            bytes[error.valid_up_to()]
        ),
    }
}
