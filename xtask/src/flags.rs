//! Every command of `cargo xtask` and its flags, in one place, parsed by one parser.
//!
//! Why clap (derive) and not xflags, which rust-analyzer's xtask uses: xflags makes one
//! help text for the whole tree, so `synth --help` would print every command and an error
//! could not show the usage of the command it is about; it has no hidden commands (the
//! `__bench-child` of `bench`) and no flag with two values (`diff --dirs OLD NEW`). clap
//! says all of this as declarations; it is built here without colour (no terminal
//! crates), and its derive reuses the `syn` that policy-macros builds anyway.
//!
//! Errors are clap's, in one style: `error: ...`, the usage of that command, and a hint
//! to ask for `--help`; the exit status is 2 for a misused command, 0 for `--help`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, error::ErrorKind};

use crate::synth::Params;
use crate::{diff, verify};

/// The project's commands.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Write k8s/ from policies/ (and examples/two-clusters/k8s/ from its example), each
    /// declared cluster to k8s/<cluster>/, proven to allow exactly what they declare.
    Emit {
        /// Write nothing; fail if any k8s/ folder, or any cluster's, is stale.
        #[arg(long)]
        check: bool,
    },
    /// Write a synthetic platform crate (default: target/synth/<sizes>/).
    Synth(Synth),
    /// Measure expansion, build, emit and memory at scale; print the figures.
    Bench {
        /// Smaller platforms and fewer runs.
        #[arg(long)]
        quick: bool,
        /// Instead, install network-config-analyzer (PyPI) and cdk8s-plus (npm) into a
        /// temporary folder and measure them against zero-trust on the same platforms.
        #[arg(long)]
        peers: bool,
    },
    /// Flows added and removed since GIT_REF, or between two folders of YAML.
    ///
    /// Since GIT_REF (default: the merge base with main): between its committed k8s/ and
    /// what policies/ emits now. Exit status 0 when no flow changed, 1 when some did, 2 on
    /// an error.
    Diff {
        /// The git ref whose committed k8s/ to compare with what policies/ emits now.
        #[arg(value_name = "GIT_REF", conflicts_with_all = ["dirs", "clusters"])]
        git_ref: Option<String>,
        /// Compare two folders instead, read (recursively) as `verify` reads one.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
        dirs: Option<Vec<PathBuf>>,
        /// Compare two declared clusters instead: the flows B allows and A does not, and the
        /// reverse, as their policy source emits them now.
        #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "dirs")]
        clusters: Option<Vec<String>>,
        /// md (to paste into a review; the default when stdout is not a terminal) or text.
        #[arg(long, value_enum)]
        format: Option<diff::Format>,
    },
    /// What the YAML in DIR allows; k8s/ is proven against policies/.
    ///
    /// With --workloads or --context, also against the real pods: every workload of the
    /// policies must select pods, and each pod must get exactly its workloads' flows.
    /// --context also reports drift: live managed policies that allow otherwise than k8s/.
    Verify(Verify),
    /// Whether SRC may connect to DST, and the policies and rules that decide it.
    Explain {
        /// NAMESPACE/NAME, NAMESPACE/* (any other pod) or an IP address.
        #[arg(value_name = "SRC")]
        source: String,
        /// As SRC, with an optional :PORT[/PROTO]; an IPv6 address with a port is
        /// written [IPV6]:PORT.
        #[arg(value_name = "DST[:PORT[/PROTO]]")]
        destination: String,
        /// The folder of YAML (default: k8s/).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Existing NetworkPolicies as `zero_trust!` code, with what the translation changes.
    ///
    /// Reads the policies of every PATH (files or folders of YAML or JSON, read as
    /// `verify` reads them; `-` for standard input), writes one file per managed
    /// namespace, `shared.rs` and `mod.rs` (its `PARTS`), then evaluates the input and the
    /// code's policies over one topology and prints every connection they decide
    /// differently. Exit status 0 when none differs (or with --accept-differences), 1 when
    /// some do, 2 on an error.
    Import(Import),
    /// One measurement of `bench`, run by it in a fresh process. Its arguments are read by
    /// `bench::child` (positional words the parent writes), not by this parser.
    #[command(name = crate::bench::CHILD, hide = true)]
    BenchChild {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, PartialEq, Eq, clap::Args)]
pub struct Import {
    /// Files or folders of NetworkPolicies; `-` reads standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Namespaces and workloads (manifests or `kubectl get -o yaml` output) whose labels
    /// the proof evaluates both sides on.
    #[arg(long, value_name = "PATH")]
    pub workloads: Vec<PathBuf>,
    /// Where to write the code (default: policies/src/imported/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that already exist there.
    #[arg(long)]
    pub force: bool,
    /// A namespace label that holds each namespace's name (like the guide's `name`): a
    /// selector on it names that namespace.
    #[arg(long, value_name = "KEY")]
    pub namespace_label: Option<String>,
    /// Exit 0 even when the code allows something else than the input.
    #[arg(long)]
    pub accept_differences: bool,
}

#[derive(Debug, PartialEq, Eq, clap::Args)]
pub struct Verify {
    /// The folder of YAML, read recursively (default: k8s/).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: verify::Format,
    /// Manifests of the workloads (Deployments, ...; `helm template` or `kustomize build`
    /// output): a folder, a file, or - for standard input.
    #[arg(long, value_name = "PATH")]
    pub workloads: Option<PathBuf>,
    /// The kubectl context of a live cluster: its pods and namespaces are checked, and its
    /// managed NetworkPolicies compared with k8s/.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// List the objects skipped because they carry neither pods nor policies.
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Debug, PartialEq, Eq, clap::Args)]
pub struct Synth {
    /// Namespaces (default: one per 100 workloads).
    #[arg(long, value_name = "K")]
    pub namespaces: Option<usize>,
    /// Workloads, at least 10 and one per namespace.
    #[arg(long, value_name = "N")]
    pub workloads: usize,
    /// Flows, 1 to 20 per workload.
    #[arg(long, value_name = "M")]
    pub flows: usize,
    /// The same seed and sizes give the same platform.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Where to write the crate.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl Synth {
    pub fn params(&self) -> Params {
        Params {
            namespaces: self
                .namespaces
                .unwrap_or_else(|| (self.workloads / 100).max(1)),
            workloads: self.workloads,
            flows: self.flows,
            seed: self.seed,
        }
    }
}

/// Parses the arguments after the program name; on `--help` or a misuse, the
/// [`clap::Error`] to print (`error.exit()` prints it and ends with its status).
pub fn parse<I, T>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = std::iter::once(OsString::from("cargo xtask"))
        .chain(args.into_iter().map(Into::into))
        .collect();
    let name = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let command = Xtask::try_parse_from(&args)
        .map_err(|e| with_usage(e, name))?
        .command;
    // Sizes that cannot make a platform are a misuse of `synth`, said like the others.
    if let Command::Synth(synth) = &command {
        synth
            .params()
            .validate()
            .map_err(|message| error_of(name, ErrorKind::ValueValidation, message))?;
    }
    Ok(command)
}

/// `message` as an error of the command `name`, with its usage.
fn error_of(name: &str, kind: ErrorKind, message: impl std::fmt::Display) -> clap::Error {
    let mut xtask = Xtask::command();
    xtask.build();
    match xtask.find_subcommand_mut(name) {
        Some(command) => command.error(kind, message),
        None => xtask.error(kind, message),
    }
}

/// clap leaves the usage out of a few errors (an invalid `--format`): put it in, so that
/// every misuse says how to use the command.
fn with_usage(error: clap::Error, name: &str) -> clap::Error {
    let text = error.render().to_string();
    if error.exit_code() == 0 || text.contains("Usage:") {
        return error;
    }
    let message = text
        .trim_start_matches("error: ")
        .split("\n\nFor more information")
        .next()
        .unwrap_or("")
        .trim_end();
    error_of(name, error.kind(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(args: &[&str]) -> Command {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn err(args: &[&str]) -> clap::Error {
        match parse(args) {
            Ok(command) => panic!("{args:?} parsed as {command:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn the_declaration_is_consistent() {
        Xtask::command().debug_assert();
    }

    #[test]
    fn every_command_parses_its_flags() {
        assert_eq!(ok(&["emit"]), Command::Emit { check: false });
        assert_eq!(ok(&["emit", "--check"]), Command::Emit { check: true });
        let bench = |quick, peers| Command::Bench { quick, peers };
        assert_eq!(ok(&["bench"]), bench(false, false));
        assert_eq!(ok(&["bench", "--quick"]), bench(true, false));
        assert_eq!(ok(&["bench", "--peers"]), bench(false, true));
        assert_eq!(ok(&["bench", "--peers", "--quick"]), bench(true, true));
        let Command::Synth(synth) = ok(&[
            "synth",
            "--namespaces",
            "3",
            "--workloads",
            "40",
            "--flows",
            "80",
            "--seed",
            "7",
            "--out",
            "/tmp/x",
        ]) else {
            panic!("not synth");
        };
        assert_eq!(
            (synth.params(), synth.out),
            (
                Params {
                    namespaces: 3,
                    workloads: 40,
                    flows: 80,
                    seed: 7
                },
                Some(PathBuf::from("/tmp/x"))
            )
        );
        let Command::Synth(synth) = ok(&["synth", "--workloads", "1000", "--flows", "10"]) else {
            panic!("not synth");
        };
        assert_eq!(
            synth.params(),
            Params {
                namespaces: 10,
                workloads: 1000,
                flows: 10,
                seed: 1
            }
        );
        assert_eq!(
            ok(&["diff"]),
            Command::Diff {
                git_ref: None,
                dirs: None,
                clusters: None,
                format: None
            }
        );
        assert_eq!(
            ok(&["diff", "main~3", "--format", "md"]),
            Command::Diff {
                git_ref: Some("main~3".to_owned()),
                dirs: None,
                clusters: None,
                format: Some(diff::Format::Markdown)
            }
        );
        assert_eq!(
            ok(&["diff", "--dirs", "old", "new", "--format", "text"]),
            Command::Diff {
                git_ref: None,
                dirs: Some(vec![PathBuf::from("old"), PathBuf::from("new")]),
                clusters: None,
                format: Some(diff::Format::Text)
            }
        );
        assert_eq!(
            ok(&["diff", "--clusters", "staging", "prod"]),
            Command::Diff {
                git_ref: None,
                dirs: None,
                clusters: Some(vec!["staging".to_owned(), "prod".to_owned()]),
                format: None
            }
        );
        assert_eq!(
            ok(&["verify"]),
            Command::Verify(Verify {
                dir: None,
                format: verify::Format::Text,
                workloads: None,
                context: None,
                verbose: false
            })
        );
        assert_eq!(
            ok(&[
                "verify",
                "--workloads",
                "-",
                "--context",
                "prod",
                "--verbose"
            ]),
            Command::Verify(Verify {
                dir: None,
                format: verify::Format::Text,
                workloads: Some(PathBuf::from("-")),
                context: Some("prod".to_owned()),
                verbose: true
            })
        );
        for (word, format) in [
            ("text", verify::Format::Text),
            ("md", verify::Format::Markdown),
            ("csv", verify::Format::Csv),
            ("json", verify::Format::Json),
            ("dot", verify::Format::Dot),
        ] {
            assert_eq!(
                ok(&["verify", "some/dir", "--format", word]),
                Command::Verify(Verify {
                    dir: Some(PathBuf::from("some/dir")),
                    format,
                    workloads: None,
                    context: None,
                    verbose: false
                })
            );
        }
        assert_eq!(
            ok(&["explain", "prod/api", "prod/*:53/udp", "--dir", "d"]),
            Command::Explain {
                source: "prod/api".to_owned(),
                destination: "prod/*:53/udp".to_owned(),
                dir: Some(PathBuf::from("d"))
            }
        );
        assert_eq!(
            ok(&["explain", "10.0.0.1", "[fd00::1]:443"]),
            Command::Explain {
                source: "10.0.0.1".to_owned(),
                destination: "[fd00::1]:443".to_owned(),
                dir: None
            }
        );
    }

    #[test]
    fn the_bench_child_takes_its_words_as_they_are() {
        assert_eq!(
            ok(&[crate::bench::CHILD, "build", "--x", "t", "p"]),
            Command::BenchChild {
                args: ["build", "--x", "t", "p"].map(String::from).to_vec()
            }
        );
        let help = Xtask::command().render_long_help().to_string();
        assert!(!help.contains(crate::bench::CHILD), "{help}");
    }

    #[test]
    fn every_command_has_its_own_help_and_exits_0() {
        for command in ["emit", "synth", "bench", "diff", "verify", "explain"] {
            let e = err(&[command, "--help"]);
            assert_eq!(e.kind(), ErrorKind::DisplayHelp, "{command}");
            assert_eq!(e.exit_code(), 0, "{command}");
            let text = e.to_string();
            assert!(
                text.contains(&format!("Usage: cargo xtask {command}")),
                "{text}"
            );
        }
        let synth = err(&["synth", "--help"]).to_string();
        assert!(synth.contains("--workloads <N>"), "{synth}");
        assert!(!synth.contains("--dirs"), "{synth}");
        assert_eq!(err(&["--help"]).exit_code(), 0);
        assert_eq!(err(&["help", "synth"]).exit_code(), 0);
    }

    #[test]
    fn a_misuse_is_one_error_with_the_usage_of_its_command() {
        for (args, said) in [
            (
                &["synth", "--workloads", "100", "--flows", "9", "--bogus"][..],
                "--bogus",
            ),
            (&["verify", "--format", "xml"], "xml"),
            (&["diff", "--dirs", "only-one"], "--dirs"),
            (&["diff", "main", "--dirs", "a", "b"], "--dirs"),
            (&["diff", "--clusters", "staging"], "--clusters"),
            (
                &["diff", "--dirs", "a", "b", "--clusters", "c", "d"],
                "--clusters",
            ),
            (&["explain", "a/b"], "DST"),
            (
                &["synth", "--workloads", "5", "--flows", "1"],
                "at least 10 workloads",
            ),
            (&["synth", "--flows", "1"], "--workloads"),
        ] {
            let e = err(args);
            assert_eq!(e.exit_code(), 2, "{args:?}");
            let text = e.to_string();
            assert!(text.starts_with("error: "), "{args:?}: {text}");
            assert!(text.contains(said), "{args:?}: {text}");
            let usage = format!("Usage: cargo xtask {}", args[0]);
            assert!(text.contains(&usage), "{args:?}: {text}");
            assert_eq!(text.matches("error:").count(), 1, "{args:?}: {text}");
        }
        assert!(err(&["deploy"]).to_string().starts_with("error: "));
    }
}
