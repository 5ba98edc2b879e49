//! `cargo xtask`: the project's commands. One module per command.

mod bench;
mod diff;
mod emit;
mod k8s_dir;
mod synth;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
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
        ["diff", rest @ ..] => return diff_args(rest),
        ["verify", rest @ ..] => verify_args(rest),
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

/// `diff` exits 0 when no flow changed, 1 when some did, 2 on an error, like `git diff
/// --exit-code`.
fn diff_args(args: &[&str]) -> ExitCode {
    let mut format = diff::Format::default_for_stdout();
    let mut positional = Vec::new();
    let mut dirs = false;
    let mut args = args.iter();
    let parsed: Result<(), String> = (|| {
        while let Some(arg) = args.next() {
            match *arg {
                "--format" => {
                    format = diff::Format::parse(args.next().ok_or("--format needs a value")?)?
                }
                "--dirs" => dirs = true,
                flag if flag.starts_with('-') => {
                    return Err(format!("unknown option `{flag}`\n\n{USAGE}"));
                }
                other => positional.push(other),
            }
        }
        Ok(())
    })();
    let result = parsed.and_then(|()| match (dirs, positional.as_slice()) {
        (true, [old, new]) => diff::run_dirs(old, new, format),
        (true, _) => Err(format!("--dirs takes two folders\n\n{USAGE}")),
        (false, []) => diff::run_against_ref(None, format),
        (false, [git_ref]) => diff::run_against_ref(Some(git_ref), format),
        (false, _) => Err(format!("diff takes at most one git ref\n\n{USAGE}")),
    });
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(message) => {
            eprintln!("error: {}", relative_to_root(&message));
            ExitCode::from(2)
        }
    }
}

fn verify_args(args: &[&str]) -> Result<(), String> {
    let mut dir = None;
    let mut format = verify::Format::Text;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--format" => {
                format = verify::Format::parse(args.next().ok_or("--format needs a value")?)?
            }
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option `{flag}`\n\n{USAGE}"));
            }
            path if dir.is_none() => dir = Some(path),
            extra => return Err(format!("unexpected argument `{extra}`\n\n{USAGE}")),
        }
    }
    verify::run_verify(dir, format)
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
