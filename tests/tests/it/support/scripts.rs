//! What the tests of the generated shell scripts share: the outcome of a run, writing the
//! stand-in commands, and shellcheck (required in CI, a note elsewhere).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The outcome of one run of a script.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Each kubectl call's arguments, as the stand-in recorded them.
    pub calls: Vec<String>,
}

impl Run {
    /// The run that ended with `output`, its calls read from the stand-in kubectl's `log`
    /// (no log: the script called no kubectl).
    pub fn recorded(output: Output, log: &Path) -> Run {
        let calls = match fs::read_to_string(log) {
            Ok(log) => log.lines().map(str::to_owned).collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => panic!("read the kubectl log: {error}"),
        };
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
            calls,
        }
    }
}

#[track_caller]
pub fn assert_exit(run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "unexpected exit status; {run:#?}");
}

pub fn write_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs shellcheck on `scripts`. CI installs it (Debian package `shellcheck`); elsewhere a
/// missing shellcheck is a note, not a failure.
pub fn assert_shellcheck_passes(scripts: &[PathBuf]) {
    if let Err(error) = Command::new("shellcheck").arg("--version").output() {
        if std::env::var_os("CI").is_some() {
            panic!("shellcheck is needed in CI but could not be run: {error}");
        }
        eprintln!("note: skipping the shellcheck test, shellcheck could not be run: {error}");
        return;
    }
    let output = Command::new("shellcheck")
        .args(["--shell=bash", "--severity=style"])
        .args(scripts)
        .output()
        .expect("run shellcheck");
    assert!(
        output.status.success(),
        "shellcheck found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}
