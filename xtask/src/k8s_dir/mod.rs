//! The generated folder `k8s/`: what would change, and replacing its generated files as one
//! transaction. Files zero-trust did not write (no generated header) are kept as they are.
//!
//! `replace` takes `.k8s.lock` (one emit at a time), recovers what an interrupted emit left
//! (`swap::recover`), builds and proves the new folder in `.k8s.staging` next to `k8s/`
//! (`stage`), and swaps it in with the old folder in one step (`swap`).

mod lock;
mod stage;
mod swap;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zero_trust::emit::is_generated;

/// How long an emit waits for another one to finish with the same `k8s/`: longer than an
/// emit of a large cluster takes, short enough to notice a stuck one.
const LOCK_WAIT: Duration = Duration::from_secs(120);

pub struct GeneratedDir {
    path: PathBuf,
    lock_wait: Duration,
}

/// The files next to `k8s/` that emit uses, all named after it (`.k8s.staging`, ...).
pub struct Names {
    /// The new folder, built and proven before it replaces `k8s/`.
    staging: PathBuf,
    /// The old folder once swapped out, until removed.
    previous: PathBuf,
    /// The journal of a swap under way (see `swap`).
    journal: PathBuf,
    lock: PathBuf,
}

impl Names {
    fn of(k8s: &Path) -> Result<Names, String> {
        let (Some(parent), Some(name)) = (k8s.parent(), k8s.file_name()) else {
            return Err(format!("{} has no parent folder", k8s.display()));
        };
        let sibling = |suffix: &str| parent.join(format!(".{}.{suffix}", name.to_string_lossy()));
        Ok(Names {
            staging: sibling("staging"),
            previous: sibling("previous"),
            journal: sibling("swap"),
            lock: sibling("lock"),
        })
    }
}

#[derive(Debug, Default)]
pub struct Changes {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    /// Generated before, no longer produced.
    pub removed: Vec<String>,
}

impl Changes {
    /// The changes of the files in `folder` (`staging/`), named inside it.
    pub fn within(&self, folder: &str) -> Changes {
        let pick = |files: &[String]| -> Vec<String> {
            files
                .iter()
                .filter_map(|f| f.strip_prefix(folder))
                .map(str::to_owned)
                .collect()
        };
        Changes {
            added: pick(&self.added),
            updated: pick(&self.updated),
            removed: pick(&self.removed),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }

    /// One line per changed file, named under `folder` (`k8s`).
    pub fn describe(&self, folder: &str) -> String {
        let mut text = String::new();
        for (what, files) in [
            ("missing", &self.added),
            ("differs", &self.updated),
            ("no longer produced", &self.removed),
        ] {
            for file in files {
                text.push_str(&format!("  {folder}/{file}: {what}\n"));
            }
        }
        text
    }
}

impl GeneratedDir {
    pub fn new(path: PathBuf) -> GeneratedDir {
        GeneratedDir {
            path,
            lock_wait: LOCK_WAIT,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The files zero-trust wrote there before, by path relative to the folder: in it, and
    /// in its subfolders (a declared cluster's files are in `k8s/<cluster>/`).
    fn generated_files(&self) -> Result<BTreeMap<String, String>, String> {
        let mut files = BTreeMap::new();
        collect_generated(&self.path, "", &mut files)?;
        Ok(files)
    }

    fn entries(&self) -> Result<Vec<(String, PathBuf)>, String> {
        entries_of(&self.path)
    }

    pub fn changes(&self, wanted: &BTreeMap<String, String>) -> Result<Changes, String> {
        let existing = self.generated_files()?;
        let mut changes = Changes::default();
        for (name, text) in wanted {
            self.check_folder_of(name)?;
            match existing.get(name) {
                None if fs::symlink_metadata(self.path.join(name)).is_ok() => {
                    return Err(format!(
                        "k8s/{name} exists but was not written by zero-trust; move it away so `cargo xtask emit` can write it"
                    ));
                }
                None => changes.added.push(name.clone()),
                Some(old) if old != text => changes.updated.push(name.clone()),
                Some(_) => {}
            }
        }
        changes.removed = existing
            .keys()
            .filter(|name| !wanted.contains_key(*name))
            .cloned()
            .collect();
        Ok(changes)
    }

    /// Makes the generated files of the folder exactly `wanted`, keeping other files, once
    /// `check` accepts the staged folder (given with the generated files it replaces, read
    /// under the lock), and returns what changed. On error the message says
    /// what state `k8s/` is in: unchanged, unless it says otherwise.
    pub fn replace(
        &self,
        wanted: &BTreeMap<String, String>,
        check: impl FnOnce(&Path, &BTreeMap<String, String>) -> Result<(), String>,
    ) -> Result<Changes, String> {
        let names = Names::of(&self.path)?;
        let _lock = lock::Lock::acquire(&names.lock, self.lock_wait)?;
        for note in swap::recover(&self.path, &names)? {
            eprintln!("note: {note}");
        }
        // Under the lock, so the summary tells what this emit did.
        let changes = self.changes(wanted)?;
        if changes.is_empty() {
            return Ok(changes);
        }
        let unchanged = |message: String| format!("{message}; k8s/ is unchanged");
        let old = fs::symlink_metadata(&self.path).ok();
        if let Some(meta) = &old {
            if !meta.is_dir() {
                return Err(unchanged(format!(
                    "{} is not a folder (emit replaces the folder itself); move it away",
                    self.path.display()
                )));
            }
            stage::check_removable(&self.path).map_err(unchanged)?;
        }
        let before = self.generated_files()?;
        let generated: BTreeSet<String> = before.keys().cloned().collect();
        let staging = Staging(&names.staging);
        stage::build(
            &self.path,
            &names.staging,
            &self.entries()?,
            &generated,
            wanted,
        )
        .map_err(|e| staging.discard(e))?;
        crash_point("staged");
        // The proof reads the staged folder; its findings are about the new k8s/.
        check(&names.staging, &before).map_err(|e| {
            let e = e.replace(
                &names.staging.display().to_string(),
                &self.path.display().to_string(),
            );
            staging.discard(format!(
                "{e}\nthese are the new files, which were not written"
            ))
        })?;
        if old.is_some() {
            stage::copy_permissions(&self.path, &names.staging).map_err(|e| staging.discard(e))?;
        }
        std::mem::forget(staging); // From here `swap` cleans up, since staging may hold the old folder.
        swap::swap(&self.path, &names)?;
        Ok(changes)
    }
}

impl GeneratedDir {
    /// A file in a subfolder is written there only if that is a real folder: through a
    /// symlink, emit would write outside `k8s/`.
    fn check_folder_of(&self, name: &str) -> Result<(), String> {
        let Some((folder, _)) = name.rsplit_once('/') else {
            return Ok(());
        };
        match fs::symlink_metadata(self.path.join(folder)) {
            Ok(meta) if !meta.is_dir() => Err(format!(
                "k8s/{folder} is not a folder, but emit writes a cluster's files there; move it away"
            )),
            _ => Ok(()),
        }
    }
}

/// The entries of a folder, by name, sorted; none if it does not exist.
fn entries_of(path: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        names.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    names.sort();
    Ok(names)
}

/// Adds the generated files under `folder` to `files`, named `prefix` + their path there.
fn collect_generated(
    folder: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (name, path) in entries_of(folder)? {
        // Only a regular file can be ours, and only a real folder is searched: a symlink
        // is the user's, wherever it points.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            collect_generated(&path, &format!("{prefix}{name}/"), files)?;
        } else if meta.is_file()
            // A file that isn't UTF-8 was not written by zero-trust.
            && let Ok(text) = fs::read_to_string(&path)
            && is_generated(&text)
        {
            files.insert(format!("{prefix}{name}"), text);
        }
    }
    Ok(())
}

/// The staging folder until `swap` takes it over: removed on every error, and if the check
/// panics.
struct Staging<'a>(&'a Path);

impl Staging<'_> {
    /// Removes the folder and returns the error message, saying `k8s/` is unchanged.
    fn discard(&self, message: String) -> String {
        match stage::remove_tree(self.0) {
            Ok(()) => format!("{message}; k8s/ is unchanged"),
            Err(e) => format!(
                "{message}; k8s/ is unchanged, but {} could not be removed ({e}): remove it",
                self.0.display()
            ),
        }
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        let _ = stage::remove_tree(self.0);
    }
}

/// Where a test makes the process die to check that the next emit recovers; nothing
/// otherwise.
fn crash_point(step: &str) {
    #[cfg(test)]
    tests::crash_point(step);
    let _ = step;
}
