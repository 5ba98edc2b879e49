//! Swapping the staged folder in for `k8s/` so that there is never a moment without a
//! complete `k8s/`, and recovering from an emit that was killed part way.
//!
//! Before the first rename, emit writes a journal `.k8s.swap` naming the staged folder and
//! the old `k8s/` by identity (device and inode, which a rename keeps), and removes it only
//! once the old folder is gone. So the next emit knows for certain which leftover folder is
//! a copy (safe to remove) and which is the old `k8s/` (restored if `k8s/` is missing, and
//! removed only if every file in it that zero-trust did not write is also in `k8s/`).
//!
//! On Linux the swap is one `renameat2(RENAME_EXCHANGE)`; elsewhere, or on a filesystem
//! without it, two renames, between which a crash leaves `.k8s.previous` for recovery.

use std::fs;
use std::path::Path;

use zero_trust::emit::is_generated;

use super::stage::{remove_tree, sync_dir};
use super::{Names, crash_point};

type Identity = (u64, u64);

/// Puts `names.staging` in place of `k8s` and removes the old folder. On error the message
/// says what state `k8s/` is in; the staging folder is removed unless it holds the old one.
pub fn swap(k8s: &Path, names: &Names) -> Result<(), String> {
    let unchanged = |message: String| {
        let _ = fs::remove_file(&names.journal);
        match remove_tree(&names.staging) {
            Ok(()) => format!("{message}; k8s/ is unchanged"),
            Err(e) => format!(
                "{message}; k8s/ is unchanged, but {} could not be removed ({e}): remove it",
                names.staging.display()
            ),
        }
    };
    let new = identity(&names.staging);
    let old = identity(k8s);
    write_journal(&names.journal, new, old)
        .map_err(|e| unchanged(format!("cannot write {}: {e}", names.journal.display())))?;
    crash_point("journal-written");
    if old.is_none() {
        rename_noreplace(&names.staging, k8s)
            .map_err(|e| unchanged(format!("cannot move the new k8s/ into place: {e}")))?;
        crash_point("moved-in");
    } else {
        match exchange(&names.staging, k8s) {
            Ok(()) => {
                crash_point("exchanged");
                fs::rename(&names.staging, &names.previous).map_err(|e| {
                    format!(
                        "k8s/ holds the new files, but the old folder stays at {} (cannot \
                         rename it to {}: {e}); the next `cargo xtask emit` removes it",
                        names.staging.display(),
                        names.previous.display()
                    )
                })?;
            }
            Err(e) if exchange_unsupported(&e) => {
                fs::rename(k8s, &names.previous)
                    .map_err(|e| unchanged(format!("cannot move k8s/ aside: {e}")))?;
                crash_point("fallback-old-moved-aside");
                if let Err(e) = fs::rename(&names.staging, k8s) {
                    return Err(match fs::rename(&names.previous, k8s) {
                        Ok(()) => unchanged(format!("cannot move the new k8s/ into place: {e}")),
                        Err(back) => format!(
                            "cannot move the new k8s/ into place ({e}) nor the old one back \
                             ({back}): k8s/ is missing, the old one is {} and the new one {}; \
                             the next `cargo xtask emit` restores the old one",
                            names.previous.display(),
                            names.staging.display()
                        ),
                    });
                }
            }
            Err(e) => return Err(unchanged(format!("cannot swap the new k8s/ in: {e}"))),
        }
        crash_point("old-moved-aside");
    }
    let parent = k8s.parent().unwrap_or(Path::new("."));
    // The renames reach the disk before the journal that describes them goes.
    let _ = sync_dir(parent);
    remove_old(&names.previous).map_err(|e| {
        format!(
            "k8s/ holds the new files, but the old folder {} could not be removed: {e}; \
             its files that zero-trust did not write are all in k8s/, so remove it by hand \
             (`chattr -R -i`, `chmod -R u+w` if needed); the next `cargo xtask emit` removes \
             it if it can",
            names.previous.display()
        )
    })?;
    crash_point("old-removed");
    let _ = fs::remove_file(&names.journal);
    let _ = sync_dir(parent);
    Ok(())
}

/// Removes the swapped-out folder, entry by entry so a test can stop it half way.
fn remove_old(path: &Path) -> std::io::Result<()> {
    let entries = match fs::read_dir(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
        crash_point("removing-old");
    }
    fs::remove_dir(path)
}

/// Brings back what an interrupted emit left: restores `k8s/` if it is missing, removes
/// staged copies, and removes the old folder once its files are known to be in `k8s/`.
/// Returns what it did, for the user; an error leaves the leftovers (and `k8s/`) as found.
pub fn recover(k8s: &Path, names: &Names) -> Result<Vec<String>, String> {
    let journal = read_journal(&names.journal);
    let exists = |path: &Path| fs::symlink_metadata(path).is_ok();
    if !exists(&names.staging) && !exists(&names.previous) {
        let _ = fs::remove_file(&names.journal);
        return Ok(Vec::new());
    }
    // Which folder is the old `k8s/`: by identity when the journal says, else by name (only
    // ever a former `k8s/` is renamed to `.k8s.previous`).
    let is_old = |path: &Path| match journal {
        Some((_, old)) => old.is_some() && identity(path) == old,
        None => path == names.previous,
    };
    let mut notes = Vec::new();
    if !exists(k8s) {
        for leftover in [&names.previous, &names.staging] {
            if exists(leftover) && is_old(leftover) {
                fs::rename(leftover, k8s).map_err(|e| {
                    format!(
                        "k8s/ is missing after an interrupted emit and cannot be restored from \
                         {}: {e}; rename it to k8s yourself",
                        leftover.display()
                    )
                })?;
                notes.push(format!(
                    "restored k8s/ from {}, left by an emit interrupted mid-swap",
                    leftover.display()
                ));
                break;
            }
        }
    }
    for leftover in [&names.staging, &names.previous] {
        if !exists(leftover) {
            continue;
        }
        // `.k8s.previous` is only ever a former `k8s/`, whatever the journal says.
        if leftover == &names.previous || is_old(leftover) {
            let lacking = lacking_in(leftover, k8s);
            if !lacking.is_empty() {
                return Err(format!(
                    "{} is the old k8s/, left by an interrupted `cargo xtask emit`, and holds \
                     {} that k8s/ lacks or has differently; move what you need into k8s/, \
                     remove {}, and run again; k8s/ is unchanged",
                    leftover.display(),
                    lacking.join(", "),
                    leftover.display()
                ));
            }
        }
        // Otherwise it is a staged copy: the journal names it as the new folder, or there is
        // no journal, so no swap had started when its emit stopped.
        remove_tree(leftover).map_err(|e| {
            format!(
                "cannot remove {}, left by an interrupted `cargo xtask emit`: {e}; k8s/ has \
                 everything in it, so remove it by hand and run again; k8s/ is unchanged",
                leftover.display()
            )
        })?;
        notes.push(format!(
            "removed {}, left by an interrupted emit (k8s/ has everything in it)",
            leftover.display()
        ));
    }
    let _ = fs::remove_file(&names.journal);
    Ok(notes)
}

/// The entries of the old folder `old` that zero-trust did not write and that `k8s` lacks
/// or has with other contents, as `k8s/NAME`; within subfolders too, since a declared
/// cluster's generated files are in `k8s/<cluster>/`.
fn lacking_in(old: &Path, k8s: &Path) -> Vec<String> {
    let mut lacking = Vec::new();
    lacking_under(old, k8s, "", &mut lacking);
    lacking.sort();
    lacking
}

fn lacking_under(old: &Path, k8s: &Path, prefix: &str, lacking: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(old) else {
        lacking.push(format!("{} (unreadable)", old.display()));
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type();
        let is_file = kind.as_ref().is_ok_and(|kind| kind.is_file());
        if is_file && fs::read_to_string(&path).is_ok_and(|text| is_generated(&text)) {
            continue;
        }
        let name = entry.file_name();
        let relative = format!("{prefix}{}", name.to_string_lossy());
        if kind.is_ok_and(|kind| kind.is_dir()) {
            lacking_under(&path, &k8s.join(&name), &format!("{relative}/"), lacking);
        } else if !same(&path, &k8s.join(&name)) {
            lacking.push(format!("k8s/{relative}"));
        }
    }
}

/// Whether `copy` has everything `original` has: same kind, bytes, link target, and (for a
/// folder) every entry.
fn same(original: &Path, copy: &Path) -> bool {
    let (Ok(a), Ok(b)) = (fs::symlink_metadata(original), fs::symlink_metadata(copy)) else {
        return false;
    };
    let (a, b) = (a.file_type(), b.file_type());
    if a.is_symlink() || b.is_symlink() {
        return a.is_symlink()
            && b.is_symlink()
            && fs::read_link(original).ok() == fs::read_link(copy).ok();
    }
    if a.is_dir() {
        return b.is_dir()
            && fs::read_dir(original).is_ok_and(|entries| {
                entries.into_iter().all(|entry| {
                    entry.is_ok_and(|entry| same(&entry.path(), &copy.join(entry.file_name())))
                })
            });
    }
    if a.is_file() {
        return b.is_file()
            && matches!((fs::read(original), fs::read(copy)), (Ok(x), Ok(y)) if x == y);
    }
    a == b
}

fn write_journal(path: &Path, new: Option<Identity>, old: Option<Identity>) -> std::io::Result<()> {
    use std::io::Write;
    let line = |what: &str, id: Option<Identity>| match id {
        Some((dev, ino)) => format!("{what} {dev} {ino}\n"),
        None => format!("{what} none\n"),
    };
    let mut file = fs::File::create(path)?;
    file.write_all(
        format!(
            "zero-trust emit swap: the staged folder (new) replaces k8s/ (old)\n{}{}",
            line("new", new),
            line("old", old)
        )
        .as_bytes(),
    )?;
    file.sync_all()?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// `(new, old)` from the journal. A journal that cannot be read whole was being written
/// when its emit stopped, which is before any rename: as good as none.
fn read_journal(path: &Path) -> Option<(Identity, Option<Identity>)> {
    let text = fs::read_to_string(path).ok()?;
    let mut lines = text.lines().skip(1);
    let mut field = |what: &str| -> Option<Option<Identity>> {
        let rest = lines.next()?.strip_prefix(what)?.trim();
        if rest == "none" {
            return Some(None);
        }
        let (dev, ino) = rest.split_once(' ')?;
        Some(Some((dev.parse().ok()?, ino.parse().ok()?)))
    };
    let new = field("new ")??;
    let old = field("old ")?;
    Some((new, old))
}

#[cfg(unix)]
fn identity(path: &Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path)
        .ok()
        .map(|meta| (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_path: &Path) -> Option<Identity> {
    None
}

#[cfg(target_os = "linux")]
fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated and outlive the call.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Swaps two paths in one step.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(test)]
    if super::tests::exchange_disabled() {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    renameat2(a, b, libc::RENAME_EXCHANGE)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// The kernel or filesystem lacks the exchange; the two renames will do.
fn exchange_unsupported(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    if matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    ) {
        return true;
    }
    e.kind() == std::io::ErrorKind::Unsupported
}

/// Moves `from` to `to`, failing if `to` appeared meanwhile (a plain rename would replace
/// an empty folder there).
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    match renameat2(from, to, libc::RENAME_NOREPLACE) {
        Err(e) if exchange_unsupported(&e) => {}
        other => return other,
    }
    if fs::symlink_metadata(to).is_ok() {
        return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
    }
    fs::rename(from, to)
}
