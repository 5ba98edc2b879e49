//! The generated folder `k8s/`: what would change, and replacing its generated files in
//! one step. Files zero-trust did not write (no generated header) are kept as they are.
//!
//! The new contents are built in a staging folder next to `k8s/` and swapped in with two
//! renames, so a failure while writing leaves the old `k8s/` untouched.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use zero_trust::emit::is_generated;

pub struct GeneratedDir {
    path: PathBuf,
}

#[derive(Default)]
pub struct Changes {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    /// Generated before, no longer produced.
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }

    pub fn describe(&self) -> String {
        let mut text = String::new();
        for (what, files) in [
            ("missing", &self.added),
            ("differs", &self.updated),
            ("no longer produced", &self.removed),
        ] {
            for file in files {
                text.push_str(&format!("  k8s/{file}: {what}\n"));
            }
        }
        text
    }
}

impl GeneratedDir {
    pub fn new(path: PathBuf) -> GeneratedDir {
        GeneratedDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The files zero-trust wrote there before, by name.
    fn generated_files(&self) -> Result<BTreeMap<String, String>, String> {
        let mut files = BTreeMap::new();
        for (name, path) in self.entries()? {
            if !path.is_file() {
                continue;
            }
            // A file that isn't UTF-8 was not written by zero-trust.
            if let Ok(text) = fs::read_to_string(&path)
                && is_generated(&text)
            {
                files.insert(name, text);
            }
        }
        Ok(files)
    }

    fn entries(&self) -> Result<Vec<(String, PathBuf)>, String> {
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
            names.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
        names.sort();
        Ok(names)
    }

    pub fn changes(&self, wanted: &BTreeMap<String, String>) -> Result<Changes, String> {
        let existing = self.generated_files()?;
        let mut changes = Changes::default();
        for (name, text) in wanted {
            match existing.get(name) {
                None if self.path.join(name).exists() => {
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
    /// `check` accepts the staged folder; otherwise `k8s/` is left as it was.
    pub fn replace(
        &self,
        wanted: &BTreeMap<String, String>,
        check: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        let parent = self.path.parent().ok_or("k8s/ has no parent folder")?;
        let staging = parent.join(".k8s.staging");
        let previous = parent.join(".k8s.previous");
        for leftover in [&staging, &previous] {
            remove_dir_if_present(leftover)?;
        }
        let io = |what: &str, path: &Path, e: std::io::Error| {
            format!("cannot {what} {}: {e}; k8s/ is unchanged", path.display())
        };
        fs::create_dir(&staging).map_err(|e| io("create", &staging, e))?;
        let generated = self.generated_files()?;
        for (name, path) in self.entries()? {
            if !generated.contains_key(&name) {
                copy_recursively(&path, &staging.join(&name)).map_err(|e| io("copy", &path, e))?;
            }
        }
        for (name, text) in wanted {
            let path = staging.join(name);
            fs::write(&path, text).map_err(|e| io("write", &path, e))?;
            if name.ends_with(".sh") {
                make_executable(&path).map_err(|e| io("make executable", &path, e))?;
            }
        }
        if let Err(message) = check(&staging) {
            remove_dir_if_present(&staging)?;
            return Err(format!("{message}\nk8s/ is unchanged"));
        }
        if self.path.exists() {
            fs::rename(&self.path, &previous).map_err(|e| io("move aside", &self.path, e))?;
        }
        fs::rename(&staging, &self.path).map_err(|e| {
            // Put the old folder back, so the error leaves things as they were.
            let _ = fs::rename(&previous, &self.path);
            io("move into place", &staging, e)
        })?;
        remove_dir_if_present(&previous)
    }
}

fn remove_dir_if_present(path: &Path) -> Result<(), String> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

fn copy_recursively(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(drop)
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(text: &str) -> String {
        format!("{}\n{text}", zero_trust::emit::header_line())
    }

    fn folder_with(files: &[(&str, &str)]) -> (tempfile::TempDir, GeneratedDir) {
        let root = tempfile::tempdir().expect("temp dir");
        let k8s = root.path().join("k8s");
        fs::create_dir(&k8s).expect("k8s/");
        for (name, text) in files {
            fs::write(k8s.join(name), text).expect("write");
        }
        (root, GeneratedDir::new(k8s))
    }

    fn contents(dir: &GeneratedDir) -> BTreeMap<String, String> {
        dir.entries()
            .expect("entries")
            .into_iter()
            .map(|(name, path)| (name, fs::read_to_string(path).expect("read")))
            .collect()
    }

    #[test]
    fn replace_swaps_generated_files_keeps_others_and_removes_stale_ones() {
        let old = generated("old");
        let (_root, dir) = folder_with(&[
            ("a.yaml", &old),
            ("stale.yaml", &old),
            ("NOTES.txt", "mine"),
        ]);
        let wanted: BTreeMap<String, String> = [
            ("a.yaml".to_owned(), generated("new")),
            ("b.yaml".to_owned(), generated("b")),
        ]
        .into();
        let changes = dir.changes(&wanted).expect("changes");
        assert_eq!(
            (changes.added, changes.updated, changes.removed),
            (
                vec!["b.yaml".into()],
                vec!["a.yaml".into()],
                vec!["stale.yaml".into()]
            )
        );
        dir.replace(&wanted, |_| Ok(())).expect("replaced");
        let mut expected = wanted.clone();
        expected.insert("NOTES.txt".into(), "mine".into());
        assert_eq!(contents(&dir), expected);
    }

    #[test]
    fn a_failed_check_leaves_the_folder_as_it_was() {
        let old = generated("old");
        let (_root, dir) = folder_with(&[("a.yaml", &old)]);
        let before = contents(&dir);
        let wanted: BTreeMap<String, String> = [("a.yaml".to_owned(), generated("new"))].into();
        let error = dir
            .replace(&wanted, |staged| {
                Err(format!("{} allows too much", staged.display()))
            })
            .unwrap_err();
        assert!(
            error.ends_with("allows too much\nk8s/ is unchanged"),
            "{error}"
        );
        assert_eq!(contents(&dir), before);
        assert!(
            !dir.path().with_file_name(".k8s.staging").exists(),
            "staging is cleaned up"
        );
    }

    #[test]
    fn a_hand_written_file_in_the_way_is_an_error() {
        let (_root, dir) = folder_with(&[("a.yaml", "kind: Mine")]);
        let wanted: BTreeMap<String, String> = [("a.yaml".to_owned(), generated("new"))].into();
        let error = dir.changes(&wanted).err().expect("refused");
        assert!(
            error.contains("k8s/a.yaml exists but was not written by zero-trust"),
            "{error}"
        );
    }
}
