//! Building the new `k8s/` in the staging folder, and the checks that must pass before the
//! old one is touched: every file written and flushed to disk (so a full disk shows here,
//! not after the swap), and the old folder removable once swapped out.
//!
//! Errors name the file as it is in `k8s/` (the staging folder is gone by the time the user
//! reads them) and say nothing about the state of `k8s/`: the caller adds that.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Writes into `staging` (which must not exist) the entries of `k8s` not in `generated`, as
/// they are, and the `wanted` files; everything is on disk when this returns. Names may
/// hold a folder (`staging/apply.sh`): a folder holding generated files is rebuilt the same
/// way, and one left empty by removed files is not carried over.
pub fn build(
    k8s: &Path,
    staging: &Path,
    entries: &[(String, std::path::PathBuf)],
    generated: &BTreeSet<String>,
    wanted: &BTreeMap<String, String>,
) -> Result<(), String> {
    fs::create_dir(staging).map_err(|e| {
        format!(
            "cannot create {}: {e}; the folder holding k8s/ must be writable",
            staging.display()
        )
    })?;
    let mut rebuilt = Vec::new();
    keep_entries(staging, "", entries, generated, &mut rebuilt)?;
    let mut folders = BTreeSet::new();
    for (name, text) in wanted {
        let path = staging.join(name);
        if let Some(folder) = name.rsplit_once('/').map(|(folder, _)| folder) {
            fs::create_dir_all(staging.join(folder)).map_err(|e| {
                format!("cannot create the new {}: {e}", k8s.join(folder).display())
            })?;
            folders.insert(folder.to_owned());
        }
        write_new(&path, text.as_bytes(), name.ends_with(".sh"))
            .map_err(|e| format!("cannot write the new {}: {e}", k8s.join(name).display()))?;
    }
    // Deepest first, and each folder's permissions last, so a read-only one could be filled.
    for (folder, permissions) in rebuilt.iter().rev() {
        let path = staging.join(folder);
        if fs::read_dir(&path).is_ok_and(|mut entries| entries.next().is_none()) {
            fs::remove_dir(&path)
                .map_err(|e| format!("cannot remove the empty new {}: {e}", path.display()))?;
            continue;
        }
        folders.insert(folder.clone());
        fs::set_permissions(&path, permissions.clone())
            .map_err(|e| format!("cannot copy {}: {e}", k8s.join(folder).display()))?;
    }
    for folder in folders.iter().rev() {
        sync_dir(&staging.join(folder))
            .map_err(|e| format!("cannot flush the new {}: {e}", k8s.join(folder).display()))?;
    }
    sync_dir(staging).map_err(|e| format!("cannot flush {}: {e}", staging.display()))
}

/// Copies into `to` the `entries` (of the folder `prefix` of `k8s/`) that are not
/// generated; a real folder holding generated files is rebuilt entry by entry, and noted
/// in `rebuilt` with its permissions (given once it is filled).
fn keep_entries(
    to: &Path,
    prefix: &str,
    entries: &[(String, std::path::PathBuf)],
    generated: &BTreeSet<String>,
    rebuilt: &mut Vec<(String, fs::Permissions)>,
) -> Result<(), String> {
    for (name, path) in entries {
        let relative = format!("{prefix}{name}");
        if generated.contains(&relative) {
            continue;
        }
        let inner = format!("{relative}/");
        let meta = fs::symlink_metadata(path);
        let holds_generated = generated
            .range(inner.clone()..)
            .next()
            .is_some_and(|g| g.starts_with(&inner));
        if let Ok(meta) = meta
            && meta.is_dir()
            && holds_generated
        {
            fs::create_dir(to.join(name))
                .map_err(|e| format!("cannot copy {} into the new k8s/: {e}", path.display()))?;
            rebuilt.push((relative, meta.permissions()));
            keep_entries(
                &to.join(name),
                &inner,
                &super::entries_of(path)?,
                generated,
                rebuilt,
            )?;
        } else {
            copy_entry(path, &to.join(name))?;
            super::crash_point("copying");
        }
    }
    Ok(())
}

/// Copies a file, a symlink (as a link: never followed) or a folder; anything else is an
/// error, since it could not be carried over faithfully.
fn copy_entry(from: &Path, to: &Path) -> Result<(), String> {
    let cannot = |what: &str, e: std::io::Error| {
        format!("cannot {what} {} into the new k8s/: {e}", from.display())
    };
    let meta = fs::symlink_metadata(from).map_err(|e| cannot("read", e))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = fs::read_link(from).map_err(|e| cannot("read link", e))?;
        return symlink(&target, to).map_err(|e| cannot("copy link", e));
    }
    if kind.is_dir() {
        fs::create_dir(to).map_err(|e| cannot("copy", e))?;
        let mut names = Vec::new();
        for entry in fs::read_dir(from).map_err(|e| cannot("read", e))? {
            names.push(entry.map_err(|e| cannot("read", e))?.file_name());
        }
        for name in names {
            copy_entry(&from.join(&name), &to.join(&name))?;
        }
        sync_dir(to).map_err(|e| cannot("flush", e))?;
        // Last, so a read-only folder can still be filled.
        return fs::set_permissions(to, meta.permissions()).map_err(|e| cannot("copy", e));
    }
    if kind.is_file() {
        let mut source = File::open(from).map_err(|e| cannot("read", e))?;
        let mut copy = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(to)
            .map_err(|e| cannot("copy", e))?;
        std::io::copy(&mut source, &mut copy).map_err(|e| cannot("copy", e))?;
        copy.set_permissions(meta.permissions())
            .map_err(|e| cannot("copy", e))?;
        return copy.sync_all().map_err(|e| cannot("flush", e));
    }
    Err(format!(
        "{} is {}, which `cargo xtask emit` cannot carry over to the new k8s/ (only files, \
         folders and symlinks); move it out of k8s/ and run again",
        from.display(),
        zero_trust::eval::load::special_file_kind(&kind)
    ))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "symlinks are only carried over on Unix",
    ))
}

/// Creates `path` (never through an existing file or link), writes it and flushes it.
fn write_new(path: &Path, bytes: &[u8], executable: bool) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    #[cfg(test)]
    if let Some(error) = super::tests::injected_write_error(path) {
        file.write_all(&bytes[..bytes.len() / 2])?;
        return Err(error);
    }
    file.write_all(bytes)?;
    if executable {
        make_executable(&file)?;
    }
    // Flushing is what surfaces a full disk on filesystems that allocate late.
    file.sync_all()
}

#[cfg(unix)]
fn make_executable(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// Flushes a folder's entries (creations, renames) to disk.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    return File::open(path)?.sync_all();
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Gives `staging` the permissions of the `k8s/` it replaces.
pub fn copy_permissions(k8s: &Path, staging: &Path) -> Result<(), String> {
    let mode = fs::metadata(k8s)
        .map_err(|e| format!("cannot read {}: {e}", k8s.display()))?
        .permissions();
    fs::set_permissions(staging, mode).map_err(|e| {
        format!(
            "cannot give the new k8s/ the permissions of {}: {e}",
            k8s.display()
        )
    })
}

/// Whether the old `k8s/` can be removed once swapped out: a folder that cannot be written
/// (read-only, or immutable) or an immutable or append-only file would leave it half
/// removed, so it is refused before anything is replaced.
pub fn check_removable(path: &Path) -> Result<(), String> {
    let refuse = |what: String| {
        format!(
            "{what}: emit could not remove the old k8s/ once the new one is in place, so it \
             replaces nothing; make it writable (`chmod u+w`, `chattr -i`) or run as its \
             owner, then run again"
        )
    };
    let meta =
        fs::symlink_metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Only files and folders carry attributes worth asking about (opening a device could
    // have side effects; a FIFO or socket is refused when copying).
    if !meta.is_file() && !meta.is_dir() {
        return Ok(());
    }
    if let Some(flag) = fixed_flag(path) {
        return Err(refuse(format!("{} is {flag}", path.display())));
    }
    if !meta.is_dir() {
        return Ok(());
    }
    if let Err(e) = writable(path) {
        return Err(refuse(format!("{} is read-only ({e})", path.display())));
    }
    let entries = fs::read_dir(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        check_removable(&entry.path())?;
    }
    Ok(())
}

#[cfg(unix)]
fn writable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: `name` is a NUL-terminated path that outlives the call.
    let result = unsafe { libc::access(name.as_ptr(), libc::W_OK | libc::X_OK) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn writable(path: &Path) -> std::io::Result<()> {
    if fs::metadata(path)?.permissions().readonly() {
        Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
    } else {
        Ok(())
    }
}

/// "immutable" or "append-only" when the Linux file attribute (`chattr +i`, `+a`) is set:
/// even root cannot remove such a file.
#[cfg(target_os = "linux")]
fn fixed_flag(path: &Path) -> Option<&'static str> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    const FS_IMMUTABLE_FL: libc::c_int = 0x10;
    const FS_APPEND_FL: libc::c_int = 0x20;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int into `flags`, which lives across the call.
    let result = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    if result != 0 {
        return None; // A filesystem without attributes has none that could stop removal.
    }
    if flags & FS_IMMUTABLE_FL != 0 {
        Some("immutable (chattr +i)")
    } else if flags & FS_APPEND_FL != 0 {
        Some("append-only (chattr +a)")
    } else {
        None
    }
}

#[cfg(not(target_os = "linux"))]
fn fixed_flag(_path: &Path) -> Option<&'static str> {
    None
}

/// Removes a folder emit made or replaced, making its subfolders writable as it goes (a
/// copied read-only folder is still ours to remove). Absent is fine.
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            make_folders_writable(path);
            fs::remove_dir_all(path)
        }
        other => other,
    }
}

#[cfg(unix)]
fn make_folders_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mode = meta.permissions().mode() | 0o700;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
    if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            make_folders_writable(&entry.path());
        }
    }
}

#[cfg(not(unix))]
fn make_folders_writable(_path: &Path) {}
