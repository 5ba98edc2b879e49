//! `cargo xtask`: the project's commands. One module per command.

mod bench;
mod diff;
mod emit;
mod k8s_dir;
mod synth;
mod verify;

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
        ["-h" | "--help" | "help"] => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown arguments `{}`\n\n{USAGE}", args.join(" "))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
