//! Tests of `k8s_dir`: what changes, the replace transaction under concurrency, faults and
//! odd folders, and the hooks the code calls to let them inject those faults.
//!
//! The crash tests run this test binary again as a child (`crash_child`) that aborts at a
//! named step, then check that the next `replace` recovers with every user file intact.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::*;

const CRASH_AT: &str = "K8S_DIR_CRASH_AT";
const CRASH_CHILD: &str = "K8S_DIR_CRASH_CHILD";
const NO_EXCHANGE: &str = "K8S_DIR_NO_EXCHANGE";

thread_local! {
    /// `(file name, errno)`: writing that staged file fails half way with that error.
    static FAIL_WRITE: Cell<Option<(&'static str, i32)>> = const { Cell::new(None) };
    static EXCHANGE_DISABLED: Cell<bool> = const { Cell::new(false) };
}

/// Hook: the child process of a crash test dies at the step its environment names.
pub(super) fn crash_point(step: &str) {
    if std::env::var(CRASH_AT).is_ok_and(|at| at == step) {
        std::process::abort();
    }
}

/// Hook: act as on a system without `RENAME_EXCHANGE`.
pub(super) fn exchange_disabled() -> bool {
    std::env::var_os(NO_EXCHANGE).is_some() || EXCHANGE_DISABLED.get()
}

/// Hook: the error writing `path` into staging should fail with, if any.
pub(super) fn injected_write_error(path: &Path) -> Option<std::io::Error> {
    let (name, errno) = FAIL_WRITE.get()?;
    (path.file_name()? == name).then(|| std::io::Error::from_raw_os_error(errno))
}

pub(super) fn generated(text: &str) -> String {
    format!("{}\n{text}", zero_trust::emit::header_line())
}

/// Generated files `{tag}0.yaml` .. `{tag}{n-1}.yaml`.
fn set(tag: &str, n: usize) -> BTreeMap<String, String> {
    (0..n)
        .map(|i| (format!("{tag}{i}.yaml"), generated(&format!("{tag} {i}"))))
        .collect()
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

/// Everything under `path`, by relative name: file contents, `-> target` for a symlink,
/// `/` for a folder, `(special)` for anything else.
fn snapshot(path: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, into: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let kind = entry.file_type().expect("type");
            if kind.is_symlink() {
                let target = fs::read_link(entry.path()).expect("link");
                into.insert(name, format!("-> {}", target.display()));
            } else if kind.is_dir() {
                into.insert(name.clone(), "/".into());
                walk(&entry.path(), &format!("{name}/"), into);
            } else if kind.is_file() {
                into.insert(name, fs::read_to_string(entry.path()).expect("read"));
            } else {
                into.insert(name, "(special)".into()); // Reading a FIFO would block.
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(path, "", &mut files);
    files
}

fn with(base: &BTreeMap<String, String>, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut all = base.clone();
    all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    all
}

/// No staging folder, old folder or journal is left next to `k8s/`.
fn assert_no_leftovers(dir: &GeneratedDir) {
    let names = Names::of(dir.path()).expect("names");
    for leftover in [&names.staging, &names.previous, &names.journal] {
        assert!(
            fs::symlink_metadata(leftover).is_err(),
            "{} is left behind",
            leftover.display()
        );
    }
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
    let changes = dir.replace(&wanted, |_, _| Ok(())).expect("replaced");
    assert_eq!(
        (changes.added, changes.updated, changes.removed),
        (
            vec!["b.yaml".into()],
            vec!["a.yaml".into()],
            vec!["stale.yaml".into()]
        )
    );
    assert_eq!(
        snapshot(dir.path()),
        with(&wanted, &[("NOTES.txt", "mine")])
    );
    assert_no_leftovers(&dir);
    let again = dir.replace(&wanted, |_, _| panic!("nothing to prove"));
    assert!(again.expect("no change").is_empty());
}

/// The folders of declared clusters: a stale file in the second cluster's folder is a
/// change (what `emit --check` reports), a cluster no longer declared leaves no folder,
/// and the user's files in a cluster's folder stay.
#[test]
fn cluster_folders_are_replaced_file_by_file_and_a_stale_second_cluster_is_a_change() {
    let (_root, dir) = folder_with(&[]);
    let first: BTreeMap<String, String> = [
        ("apply.sh", generated("all")),
        ("staging/a.yaml", generated("staging")),
        ("prod/a.yaml", generated("prod")),
        ("qa/a.yaml", generated("qa")),
    ]
    .map(|(name, text)| (name.to_owned(), text))
    .into();
    dir.replace(&first, |_, _| Ok(())).expect("replaced");
    fs::write(dir.path().join("prod/NOTES.txt"), "mine").expect("write");
    fs::write(dir.path().join("prod/a.yaml"), generated("edited by hand")).expect("write");
    let mut wanted = first.clone();
    wanted.remove("qa/a.yaml");
    let changes = dir.changes(&wanted).expect("changes");
    assert_eq!(
        (&changes.added, &changes.updated, &changes.removed),
        (
            &vec![],
            &vec!["prod/a.yaml".to_owned()],
            &vec!["qa/a.yaml".to_owned()]
        )
    );
    assert_eq!(
        changes.describe("k8s"),
        "  k8s/prod/a.yaml: differs\n  k8s/qa/a.yaml: no longer produced\n"
    );
    assert_eq!(changes.within("prod/").updated, ["a.yaml"]);
    dir.replace(&wanted, |staged, before| {
        assert_eq!(before["qa/a.yaml"], generated("qa"));
        assert!(staged.join("prod/a.yaml").is_file());
        Ok(())
    })
    .expect("replaced");
    assert_eq!(
        snapshot(dir.path()),
        with(
            &wanted,
            &[("staging", "/"), ("prod", "/"), ("prod/NOTES.txt", "mine")]
        )
    );
    assert_no_leftovers(&dir);
}

/// A cluster's folder that is a symlink would let emit write outside `k8s/`.
#[test]
fn a_cluster_folder_that_is_a_symlink_is_refused() {
    let (root, dir) = folder_with(&[]);
    fs::create_dir(root.path().join("elsewhere")).expect("mkdir");
    std::os::unix::fs::symlink("../elsewhere", dir.path().join("prod")).expect("link");
    let wanted: BTreeMap<String, String> = [("prod/a.yaml".to_owned(), generated("prod"))].into();
    let error = dir.replace(&wanted, |_, _| Ok(())).unwrap_err();
    assert!(error.contains("k8s/prod is not a folder"), "{error}");
    assert!(
        fs::read_dir(root.path().join("elsewhere"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_failed_check_leaves_the_folder_as_it_was_and_names_k8s_not_staging() {
    let (_root, dir) = folder_with(&[("a.yaml", &generated("old"))]);
    let before = snapshot(dir.path());
    let wanted = set("a", 1);
    let error = dir
        .replace(&wanted, |staged, _| {
            Err(format!("{}/a0.yaml allows too much", staged.display()))
        })
        .unwrap_err();
    let named = format!("{}/a0.yaml allows too much\n", dir.path().display());
    assert!(error.starts_with(&named), "{error}");
    assert!(error.ends_with("k8s/ is unchanged"), "{error}");
    assert!(!error.contains(".k8s.staging"), "{error}");
    assert_eq!(snapshot(dir.path()), before);
    assert_no_leftovers(&dir);
}

#[test]
fn a_hand_written_file_in_the_way_is_an_error() {
    let (_root, dir) = folder_with(&[("a.yaml", "kind: Mine")]);
    let wanted: BTreeMap<String, String> = [("a.yaml".to_owned(), generated("new"))].into();
    let error = dir.changes(&wanted).expect_err("refused");
    assert!(
        error.contains("k8s/a.yaml exists but was not written by zero-trust"),
        "{error}"
    );
}

/// Two emits at once: the second waits for the first, so each check sees exactly its own
/// files, `k8s/` ends as one complete set, and each summary is what that emit did.
#[test]
fn concurrent_replaces_run_one_at_a_time() {
    let (_root, dir) = folder_with(&[("old.yaml", &generated("old")), ("NOTES.txt", "mine")]);
    let in_check = AtomicBool::new(false);
    let sets = [set("a", 8), set("b", 8)];
    let results: Vec<Result<Changes, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sets
            .iter()
            .map(|wanted| {
                let (dir, in_check) = (&dir, &in_check);
                scope.spawn(move || {
                    dir.replace(wanted, |staged, _| {
                        assert!(!in_check.swap(true, Ordering::SeqCst), "checks overlap");
                        std::thread::sleep(Duration::from_millis(300));
                        let seen = snapshot(staged);
                        in_check.store(false, Ordering::SeqCst);
                        match seen == with(wanted, &[("NOTES.txt", "mine")]) {
                            true => Ok(()),
                            false => Err(format!("staged {:?}", seen.keys())),
                        }
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let [first, second] = [&results[0], &results[1]].map(|r| r.as_ref().expect("replaced"));
    let after = snapshot(dir.path());
    let last = sets
        .iter()
        .position(|wanted| after == with(wanted, &[("NOTES.txt", "mine")]))
        .expect("k8s/ is one complete set");
    // The later emit removed what the earlier one added.
    let (earlier, later) = if last == 1 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(later.removed, earlier.added);
    assert_eq!(earlier.removed, vec!["old.yaml".to_owned()]);
    assert_no_leftovers(&dir);
}

#[test]
fn a_replace_that_cannot_get_the_lock_in_time_says_who_holds_it() {
    let (_root, mut dir) = folder_with(&[("NOTES.txt", "mine")]);
    dir.lock_wait = Duration::from_millis(200);
    let (entered, wait) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let dir = &dir;
        let first = scope.spawn(move || {
            dir.replace(&set("a", 3), |_, _| {
                entered.send(()).expect("send");
                std::thread::sleep(Duration::from_millis(800));
                Ok(())
            })
        });
        wait.recv().expect("first emit is in its check");
        let error = dir.replace(&set("b", 3), |_, _| Ok(())).unwrap_err();
        let holder = format!("another `cargo xtask emit` (pid {})", std::process::id());
        assert!(error.contains(&holder), "{error}");
        assert!(error.ends_with("this run left k8s/ unchanged"), "{error}");
        first.join().expect("thread").expect("first emit");
    });
    assert_eq!(
        snapshot(dir.path()),
        with(&set("a", 3), &[("NOTES.txt", "mine")])
    );
}

#[test]
fn symlinks_are_kept_as_links_never_followed() {
    let (_root, dir) = folder_with(&[("a0.yaml", &generated("old")), ("NOTES.txt", "mine")]);
    std::os::unix::fs::symlink(".", dir.path().join("loop")).expect("link");
    // A link to a generated file is still the user's link, not a generated file.
    std::os::unix::fs::symlink("a0.yaml", dir.path().join("alias.yaml")).expect("link");
    let wanted = set("a", 2);
    dir.replace(&wanted, |_, _| Ok(())).expect("replaced");
    let expected = with(
        &wanted,
        &[
            ("NOTES.txt", "mine"),
            ("loop", "-> ."),
            ("alias.yaml", "-> a0.yaml"),
        ],
    );
    assert_eq!(snapshot(dir.path()), expected);
    assert_no_leftovers(&dir);
}

#[test]
fn a_fifo_in_k8s_is_reported_and_nothing_changes() {
    let (_root, dir) = folder_with(&[("a0.yaml", &generated("old")), ("NOTES.txt", "mine")]);
    let fifo = dir.path().join("pipe");
    let name = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
    // SAFETY: `name` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0, "mkfifo");
    let before = snapshot(dir.path());
    let error = dir.replace(&set("a", 2), |_, _| Ok(())).unwrap_err();
    assert!(error.contains("pipe is a FIFO"), "{error}");
    assert!(error.ends_with("k8s/ is unchanged"), "{error}");
    assert_eq!(snapshot(dir.path()), before);
    assert_no_leftovers(&dir);
}

/// ENOSPC is injected through a hook (a real full disk needs a mount): the half-written
/// staging folder goes and `k8s/` is untouched.
#[test]
fn a_full_disk_while_staging_leaves_k8s_unchanged_and_no_staging() {
    let (_root, dir) = folder_with(&[("a0.yaml", &generated("old")), ("NOTES.txt", "mine")]);
    let before = snapshot(dir.path());
    FAIL_WRITE.set(Some(("a1.yaml", libc::ENOSPC)));
    let result = dir.replace(&set("a", 3), |_, _| Ok(()));
    FAIL_WRITE.set(None);
    let error = result.unwrap_err();
    let named = format!("cannot write the new {}/a1.yaml", dir.path().display());
    assert!(error.starts_with(&named), "{error}");
    assert!(error.contains("No space left on device"), "{error}");
    assert!(error.ends_with("k8s/ is unchanged"), "{error}");
    assert_eq!(snapshot(dir.path()), before);
    assert_no_leftovers(&dir);
}

#[test]
fn the_new_folder_keeps_the_permissions_of_the_old_one() {
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o750, 0o555] {
        let (_root, dir) = folder_with(&[("a0.yaml", &generated("old"))]);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(mode)).expect("chmod");
        dir.replace(&set("a", 2), |_, _| Ok(())).expect("replaced");
        let now = fs::metadata(dir.path()).expect("k8s/").permissions().mode() & 0o7777;
        assert_eq!(now, mode, "mode of the new k8s/");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// `chattr +i`, since these tests run as root, whom mode bits do not stop. Skipped (with a
/// note) where the filesystem or the sandbox does not allow it.
fn chattr(flag: &str, path: &Path) -> bool {
    std::process::Command::new("chattr")
        .args([flag, &path.display().to_string()])
        .status()
        .is_ok_and(|status| status.success())
}

#[test]
fn an_immutable_k8s_or_file_in_it_is_refused_before_anything_is_replaced() {
    for target in ["k8s", "k8s/NOTES.txt"] {
        let (root, dir) = folder_with(&[("a0.yaml", &generated("old")), ("NOTES.txt", "mine")]);
        let target = root.path().join(target);
        if !chattr("+i", &target) {
            eprintln!("skipped: chattr +i is not available here");
            return;
        }
        let before = snapshot(dir.path());
        let result = dir.replace(&set("a", 2), |_, _| Ok(()));
        chattr("-i", &target);
        let error = result.unwrap_err();
        assert!(error.contains("is immutable (chattr +i)"), "{error}");
        assert!(error.ends_with("k8s/ is unchanged"), "{error}");
        assert_eq!(snapshot(dir.path()), before);
        assert_no_leftovers(&dir);
    }
}

#[test]
fn a_read_only_parent_is_reported_before_anything_is_replaced() {
    let (root, dir) = folder_with(&[("a0.yaml", &generated("old"))]);
    dir.replace(&set("a", 1), |_, _| Ok(()))
        .expect("first emit makes the lock file");
    if !chattr("+i", root.path()) {
        eprintln!("skipped: chattr +i is not available here");
        return;
    }
    let result = dir.replace(&set("a", 2), |_, _| Ok(()));
    chattr("-i", root.path());
    let error = result.unwrap_err();
    assert!(error.starts_with("cannot create"), "{error}");
    assert!(error.ends_with("k8s/ is unchanged"), "{error}");
    assert_eq!(snapshot(dir.path()), set("a", 1));
    assert_no_leftovers(&dir);
}

/// What the pre-transaction emit left when killed between its renames: no `k8s/`, the old
/// folder as `.k8s.previous` and the new one as `.k8s.staging`. It used to delete both.
#[test]
fn a_missing_k8s_is_restored_from_the_old_folder_left_behind() {
    let (root, dir) = folder_with(&[("a0.yaml", &generated("old")), ("NOTES.txt", "mine")]);
    let names = Names::of(dir.path()).expect("names");
    fs::rename(dir.path(), &names.previous).expect("move aside");
    fs::create_dir(&names.staging).expect("staging");
    fs::write(names.staging.join("a0.yaml"), generated("half")).expect("write");
    dir.replace(&set("a", 2), |_, _| Ok(())).expect("replaced");
    assert_eq!(
        snapshot(dir.path()),
        with(&set("a", 2), &[("NOTES.txt", "mine")])
    );
    assert_no_leftovers(&dir);
    drop(root);
}

mod crash;
