//! `cargo xtask`: the project's commands. One module per command.

mod bench;
mod diff;
mod emit;
mod flags;
#[cfg(test)]
mod flows_render;
mod import;
mod k8s_dir;
mod synth;
mod verify;
mod workloads;

use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use flags::Command;

fn main() -> ExitCode {
    let command = match flags::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(e) => e.exit(),
    };
    let result = match command {
        Command::Emit { check: false } => emit::run(emit::Mode::Write),
        Command::Emit { check: true } => emit::run(emit::Mode::Check),
        Command::Synth(synth) => synth::run(synth.params(), synth.out),
        Command::Bench {
            quick,
            peers: false,
        } => bench::run(quick),
        Command::Bench { quick, peers: true } => bench::peers::run(quick),
        Command::BenchChild { args } => bench::child(&args),
        Command::Diff {
            git_ref,
            dirs,
            clusters: Some(clusters),
            format,
        } => {
            let _ = (git_ref, dirs); // clap refuses them beside --clusters.
            return diff::run_clusters(&clusters, format);
        }
        Command::Diff {
            git_ref,
            dirs,
            clusters: None,
            format,
        } => return diff::run(git_ref.as_deref(), dirs.as_deref(), format),
        Command::Import(import) => return import::run(&import),
        Command::Verify(args) => verify::run_verify(&args),
        Command::Explain {
            source,
            destination,
            dir,
        } => verify::run_explain(&source, &destination, dir.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) if message == STDOUT_CLOSED => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {}", relative_to_root(&message));
            ExitCode::FAILURE
        }
    }
}

/// `text` with the workspace root taken off its paths, so messages name `k8s/...`.
pub fn relative_to_root(text: &str) -> String {
    text.replace(&format!("{}/", project_root().display()), "")
}

/// The workspace root, whatever the working directory.
pub fn project_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// The error [`out`] returns when stdout's reader has gone (`cargo xtask verify | head`):
/// not a failure, so `main` ends quietly with success, as `head` expects of a writer.
pub const STDOUT_CLOSED: &str = "stdout was closed by its reader";

/// Prints `text` on stdout, the one way every command prints. `print!` would panic when
/// the reader of a pipe has gone; here a closed pipe ends the command quietly
/// ([`STDOUT_CLOSED`]) and any other write error is an error.
pub fn out(text: impl Display) -> Result<(), String> {
    write_out(&mut std::io::stdout().lock(), text)
}

fn write_out(to: &mut impl Write, text: impl Display) -> Result<(), String> {
    match write!(to, "{text}").and_then(|()| to.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(STDOUT_CLOSED.to_owned()),
        Err(e) => Err(format!("cannot write to stdout: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe whose reader has gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_stdout_is_a_quiet_end_not_a_panic() {
        assert_eq!(
            write_out(&mut Closed, "a\nb\n"),
            Err(STDOUT_CLOSED.to_owned())
        );
        let mut buffer = Vec::new();
        assert_eq!(write_out(&mut buffer, format_args!("{}", 1)), Ok(()));
        assert_eq!(buffer, b"1");
    }
}
