//! A command run as a process of its own, to its end: its wall time, and its peak memory
//! from `wait4`: the largest resident set among the process and the descendants it waited
//! for (for `cargo build`, the largest rustc or linker), not their sum at any moment.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A process's wall time and peak resident memory.
pub struct Measured {
    pub seconds: f64,
    pub maxrss_kib: f64,
}

/// Runs `command` to its end, its output into `log`; fails unless it exits with 0.
pub fn measured(command: &mut Command, log: &Path) -> Result<Measured, String> {
    match measured_within(command, log, None)? {
        Bounded::Finished(measured) => Ok(measured),
        Bounded::Stopped(_) => unreachable!("a run without a limit is never stopped"),
    }
}

/// How a run with a time limit ended.
pub enum Bounded {
    Finished(Measured),
    /// Killed at the limit: its time is a lower bound, its memory the peak until then.
    Stopped(Measured),
}

/// [`measured`], the process killed once it has run for `limit`: a peer that would take
/// hours is reported as taking more than `limit`. With a limit the child is polled every
/// 100 ms, so a finished run's time is late by at most that.
pub fn measured_within(
    command: &mut Command,
    log: &Path,
    limit: Option<Duration>,
) -> Result<Bounded, String> {
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
    let pid = child.id();
    let (status, usage, stopped) = match limit {
        None => {
            let (status, usage) = wait(pid)?;
            (status, usage, false)
        }
        Some(limit) => loop {
            if let Some((status, usage)) = wait4(pid, libc::WNOHANG)? {
                break (status, usage, false);
            }
            if start.elapsed() >= limit {
                // SAFETY: `pid` is this process's child, not yet reaped (the wait above
                // found it running), so the id is still its own.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                let (status, usage) = wait(pid)?;
                break (status, usage, true);
            }
            std::thread::sleep(Duration::from_millis(100));
        },
    };
    let measured = Measured {
        seconds: start.elapsed().as_secs_f64(),
        maxrss_kib: usage.ru_maxrss as f64,
    };
    if stopped {
        return Ok(Bounded::Stopped(measured));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let output = fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = output.lines().rev().take(20).collect();
        return Err(format!(
            "{command:?} failed (wait status {status}):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    Ok(Bounded::Finished(measured))
}

/// Waits for the child `pid` to end: [`wait4`] without `WNOHANG`.
fn wait(pid: u32) -> Result<(i32, libc::rusage), String> {
    wait4(pid, 0)?.ok_or_else(|| format!("process {pid} had not ended after waiting for it"))
}

/// Waits for the child `pid` and returns its wait status and resource usage: `ru_maxrss`
/// of that one child, which `std::process` does not report. With `WNOHANG` in `options`,
/// `None` while it runs.
fn wait4(pid: u32, options: libc::c_int) -> Result<Option<(i32, libc::rusage)>, String> {
    let mut status = 0;
    // SAFETY: `wait4` writes only the status and the `rusage` it is given, both on this
    // stack; a zeroed `rusage` is valid. The child is reaped here, so its `Child` handle
    // is dropped without waiting.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        loop {
            match libc::wait4(pid as libc::pid_t, &mut status, options, &mut usage) {
                0 => return Ok(None),
                -1 => {}
                _ => return Ok(Some((status, usage))),
            }
            // A signal interrupting the wait leaves the child running: wait again.
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("cannot wait for process {pid}: {error}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(program: &str, args: &[&str], limit: Option<Duration>) -> Result<Bounded, String> {
        let log =
            std::env::temp_dir().join(format!("zero-trust-process-{}.log", std::process::id()));
        let result = measured_within(Command::new(program).args(args), &log, limit);
        let _ = fs::remove_file(&log);
        result
    }

    /// A run past its limit is killed there, and reported as stopped rather than failed.
    #[test]
    fn a_run_past_its_limit_is_stopped_at_it() {
        let limit = Duration::from_millis(300);
        let Ok(Bounded::Stopped(stopped)) = run("sleep", &["30"], Some(limit)) else {
            panic!("sleep 30 was not stopped");
        };
        assert!(
            (0.3..10.0).contains(&stopped.seconds),
            "{}",
            stopped.seconds
        );
    }

    /// Within its limit a run is measured to its end, and a failure is still an error.
    #[test]
    fn a_run_within_its_limit_ends_as_it_would_without_one() {
        let limit = Some(Duration::from_secs(60));
        assert!(matches!(run("true", &[], limit), Ok(Bounded::Finished(_))));
        assert!(matches!(run("true", &[], None), Ok(Bounded::Finished(_))));
        let failed = run("sh", &["-c", "echo no >&2; exit 3"], limit)
            .err()
            .unwrap();
        assert!(failed.contains("no"), "{failed}");
    }
}
