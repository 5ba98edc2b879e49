//! One emit at a time per `k8s/`: an exclusive lock on `.k8s.lock` next to it, holding the
//! pid of the emit that owns it.
//!
//! The lock is `flock` (std's `File::lock`), so the kernel drops it when its process ends,
//! however it ends: a killed emit never leaves a stale lock. The file itself is never
//! removed: removing a lock file while another process waits on it would let two hold "it".

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held until dropped.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock at `path`, waiting up to `wait` for another emit to finish with it.
    pub fn acquire(path: &Path, wait: Duration) -> Result<Lock, String> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                format!(
                    "cannot open {}: {e}; `cargo xtask emit` locks it so that one emit at a time \
                     replaces k8s/: make its folder writable and run again; k8s/ is unchanged",
                    path.display()
                )
            })?;
        let deadline = Instant::now() + wait;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    if !told {
                        eprintln!(
                            "waiting for another `cargo xtask emit` ({}) to finish with k8s/ ...",
                            holder(path)
                        );
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(format!(
                        "another `cargo xtask emit` ({}) is replacing k8s/ and still holds {} \
                         after {}s; let it finish (or stop it) and run again; this run left \
                         k8s/ unchanged",
                        holder(path),
                        path.display(),
                        wait.as_secs_f32()
                    ));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(format!(
                        "cannot lock {}: {e}; `cargo xtask emit` needs a filesystem with file \
                         locks for k8s/; k8s/ is unchanged",
                        path.display()
                    ));
                }
            }
        }
        // Say who holds it, for the message of an emit that waits. Best effort: the lock,
        // not this text, is what keeps emits apart.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()));
        Ok(Lock { _file: file })
    }
}

/// "pid N" from the lock file, as far as it can be read.
fn holder(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(text) if text.trim().parse::<u32>().is_ok() => format!("pid {}", text.trim()),
        _ => format!("pid unknown, see {}", PathBuf::from(path).display()),
    }
}
