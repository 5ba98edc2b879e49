//! Fault injection: an emit killed at each step of the transaction, and the next emit.
//!
//! Each case runs this test binary again, as `crash_child`, with `K8S_DIR_CRASH_AT` naming
//! the step where it aborts; then it checks what the crash left and that a normal
//! `replace` ends with a complete `k8s/`, every user file as it was, and no leftovers.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::*;

const USER_FILES: [(&str, &str); 7] = [
    ("NOTES.txt", "mine"),
    ("extra", "/"),
    ("extra/deep.txt", "deeper"),
    ("link", "-> NOTES.txt"),
    ("loop", "-> ."),
    // A declared cluster's folder holds generated files and may hold the user's too.
    ("prod", "/"),
    ("prod/NOTES.txt", "mine too"),
];

/// The generated files before: in `k8s/` and in the folder of a declared cluster.
fn old_set() -> BTreeMap<String, String> {
    let mut files = set("a", 4);
    files.extend(set("prod/a", 2));
    files
}

/// `k8s/` with the old generated set and the user's files.
fn old_folder() -> (tempfile::TempDir, GeneratedDir) {
    let (root, dir) = folder_with(&[("NOTES.txt", "mine")]);
    fs::create_dir(dir.path().join("prod")).expect("mkdir");
    fs::write(dir.path().join("prod/NOTES.txt"), "mine too").expect("write");
    for (name, text) in old_set() {
        fs::write(dir.path().join(name), text).expect("write");
    }
    fs::create_dir(dir.path().join("extra")).expect("mkdir");
    fs::write(dir.path().join("extra/deep.txt"), "deeper").expect("write");
    std::os::unix::fs::symlink("NOTES.txt", dir.path().join("link")).expect("link");
    std::os::unix::fs::symlink(".", dir.path().join("loop")).expect("link");
    (root, dir)
}

fn new_set() -> BTreeMap<String, String> {
    let mut files = set("b", 5);
    files.extend(set("prod/b", 3));
    files
}

/// Runs `replace(new_set())` on `k8s` in a child process that aborts at `step`.
fn crash_at(k8s: &Path, step: &str, exchange: bool) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"));
    child
        .args([
            "--exact",
            "k8s_dir::tests::crash::crash_child",
            "--nocapture",
        ])
        .env(CRASH_CHILD, k8s)
        .env(CRASH_AT, step);
    if !exchange {
        child.env(NO_EXCHANGE, "1");
    }
    let output = child.output().expect("run the child");
    assert!(
        !output.status.success(),
        "the child should have died at {step}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Not a test of its own: the child process of the crash tests (does nothing otherwise).
#[test]
fn crash_child() {
    let Some(k8s) = std::env::var_os(CRASH_CHILD) else {
        return;
    };
    let dir = GeneratedDir::new(k8s.into());
    dir.replace(&new_set(), |_, _| Ok(())).expect("replace");
}

/// What `k8s/` holds right after the crash.
#[derive(Debug, PartialEq)]
enum Left {
    Old,
    New,
    Missing,
}

fn state(dir: &GeneratedDir) -> Left {
    if !dir.path().exists() {
        return Left::Missing;
    }
    let now = snapshot(dir.path());
    if now == with(&old_set(), &USER_FILES) {
        Left::Old
    } else if now == with(&new_set(), &USER_FILES) {
        Left::New
    } else {
        panic!("k8s/ is neither the old nor the new set: {:?}", now.keys())
    }
}

#[test]
fn an_emit_killed_at_any_step_is_recovered_by_the_next_with_every_user_file() {
    let cases = [
        ("copying", true, Left::Old),
        ("staged", true, Left::Old),
        ("journal-written", true, Left::Old),
        ("exchanged", true, Left::New),
        ("old-moved-aside", true, Left::New),
        ("removing-old", true, Left::New),
        ("old-removed", true, Left::New),
        // Without RENAME_EXCHANGE: two renames, with a moment without `k8s/` between.
        ("journal-written", false, Left::Old),
        ("fallback-old-moved-aside", false, Left::Missing),
        ("old-moved-aside", false, Left::New),
        ("removing-old", false, Left::New),
    ];
    for (step, exchange, left) in cases {
        let (_root, dir) = old_folder();
        crash_at(dir.path(), step, exchange);
        assert_eq!(state(&dir), left, "right after a crash at {step}");
        dir.replace(&new_set(), |_, _| Ok(()))
            .unwrap_or_else(|e| panic!("after a crash at {step}: {e}"));
        assert_eq!(
            snapshot(dir.path()),
            with(&new_set(), &USER_FILES),
            "after a crash at {step}"
        );
        assert_no_leftovers(&dir);
    }
}

#[test]
fn a_first_emit_killed_before_its_folder_is_in_place_starts_again() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = GeneratedDir::new(root.path().join("k8s"));
    crash_at(dir.path(), "journal-written", true);
    assert!(!dir.path().exists());
    dir.replace(&new_set(), |_, _| Ok(())).expect("replaced");
    assert_eq!(snapshot(dir.path()), with(&new_set(), &[("prod", "/")]));
    assert_no_leftovers(&dir);
}

/// The old folder is removed only when `k8s/` has all of the user's files in it: a file
/// changed since the crash keeps it, and the error says which file and what to do.
#[test]
fn an_old_folder_with_files_k8s_lacks_is_kept_and_named() {
    let (_root, dir) = old_folder();
    crash_at(dir.path(), "exchanged", true);
    fs::write(dir.path().join("NOTES.txt"), "edited since").expect("edit");
    let names = Names::of(dir.path()).expect("names");
    let error = dir.replace(&new_set(), |_, _| Ok(())).unwrap_err();
    assert!(
        error.contains("holds k8s/NOTES.txt that k8s/ lacks"),
        "{error}"
    );
    assert!(error.ends_with("k8s/ is unchanged"), "{error}");
    let kept = snapshot(&names.staging);
    assert_eq!(kept.get("NOTES.txt").map(String::as_str), Some("mine"));
    // Once the user has taken what they need, the next emit tidies up.
    fs::remove_dir_all(&names.staging).expect("user removes it");
    dir.replace(&new_set(), |_, _| Ok(())).expect("replaced");
    assert_no_leftovers(&dir);
}

/// Mode 555 stops only a user who is not root, so as root the child runs as `nobody`
/// (through `setpriv`; skipped with a note where it is missing).
#[test]
fn a_read_only_k8s_is_refused_before_anything_is_replaced() {
    use std::os::unix::fs::{PermissionsExt, chown};
    let (root, dir) = folder_with(&[("a0.yaml", &generated("old")), ("NOTES.txt", "mine")]);
    let before = snapshot(dir.path());
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let nobody = Some(65534);
    if as_root {
        for path in [root.path(), dir.path(), &dir.path().join("a0.yaml")] {
            chown(path, nobody, nobody).expect("chown");
        }
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).expect("chmod");
    let error = if as_root {
        let output = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "k8s_dir::tests::crash::crash_child",
                "--nocapture",
            ])
            .env(CRASH_CHILD, dir.path())
            .output();
        let output = match output {
            Ok(output) if !output.stderr.starts_with(b"setpriv:") => output,
            _ => {
                eprintln!("skipped: setpriv is not available or not allowed here");
                return;
            }
        };
        assert!(
            !output.status.success(),
            "the child replaced a read-only k8s/"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    } else {
        dir.replace(&new_set(), |_, _| Ok(())).unwrap_err()
    };
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let named = format!("{} is read-only (Permission denied", dir.path().display());
    assert!(error.contains(&named), "{error}");
    assert!(error.contains("k8s/ is unchanged"), "{error}");
    assert_eq!(snapshot(dir.path()), before);
    assert_no_leftovers(&dir);
}
