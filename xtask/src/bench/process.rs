//! A command run as a process of its own, to its end: its wall time, and its peak memory
//! from `wait4`: the largest resident set among the process and the descendants it waited
//! for (for `cargo build`, the largest rustc or linker), not their sum at any moment.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A process's wall time and peak resident memory.
pub struct Measured {
    pub seconds: f64,
    pub maxrss_kib: f64,
}

/// Runs `command` to its end, its output into `log`; fails unless it exits with 0.
pub fn measured(command: &mut Command, log: &Path) -> Result<Measured, String> {
    let file = fs::File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    let err = file
        .try_clone()
        .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    let start = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let (status, usage) = wait4(child.id())?;
    let seconds = start.elapsed().as_secs_f64();
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let output = fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = output.lines().rev().take(20).collect();
        return Err(format!(
            "{command:?} failed (wait status {status}):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    Ok(Measured {
        seconds,
        maxrss_kib: usage.ru_maxrss as f64,
    })
}

/// Waits for the child `pid` and returns its wait status and resource usage: `ru_maxrss`
/// of that one child, which `std::process` does not report.
fn wait4(pid: u32) -> Result<(i32, libc::rusage), String> {
    let mut status = 0;
    // SAFETY: `wait4` writes only the status and the `rusage` it is given, both on this
    // stack; a zeroed `rusage` is valid. The child is reaped here, so its `Child` handle
    // is dropped without waiting.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        loop {
            if libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) != -1 {
                return Ok((status, usage));
            }
            // A signal interrupting the wait leaves the child running: wait again.
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("cannot wait for process {pid}: {error}"));
            }
        }
    }
}
