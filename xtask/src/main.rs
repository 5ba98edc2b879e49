//! `cargo xtask`: the project's commands. One module per command.

mod bench;
mod diff;
mod emit;
#[cfg(test)]
mod flows_render;
mod k8s_dir;
mod synth;
mod verify;

use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  emit [--check]   write k8s/ from policies/ (--check: write nothing, fail if k8s/ is stale)
  synth --namespaces K --workloads N --flows M [--seed S] [--out DIR]
                   write a synthetic platform crate (default: target/synth/<sizes>/)
  bench [--quick]  measure expansion, build, emit and memory at scale; print the figures
  diff [GIT_REF] [--format md|text]
                   flows added and removed since GIT_REF (default: the merge base with main);
                   exit status 1 when any flow changed
  diff --dirs OLD NEW [--format md|text]
                   the same for two folders of NetworkPolicy YAML
  verify [DIR] [--format text|md|csv|json|dot]
                   what the YAML in DIR (default k8s/) allows; k8s/ is proven against policies/
  explain SRC DST[:PORT[/PROTO]] [--dir DIR]
                   whether SRC may connect to DST, and the policies and rules that decide it;
                   ends are NAMESPACE/NAME, NAMESPACE/* (any other pod) or an IP address
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["emit"] => emit::run(emit::Mode::Write),
        ["emit", "--check"] => emit::run(emit::Mode::Check),
        ["synth", rest @ ..] => synth::run(rest),
        ["bench", rest @ ..] => bench::run(rest),
        [bench::CHILD, rest @ ..] => bench::child(rest),
        ["diff", rest @ ..] => return diff::run(rest),
        ["verify", rest @ ..] => verify::run(rest),
        ["explain", source, destination] => verify::run_explain(source, destination, None),
        ["explain", source, destination, "--dir", dir] => {
            verify::run_explain(source, destination, Some(dir))
        }
        ["-h" | "--help" | "help"] => out(USAGE),
        _ => Err(format!("unknown arguments `{}`\n\n{USAGE}", args.join(" "))),
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
