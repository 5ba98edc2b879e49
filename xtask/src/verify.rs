//! `cargo xtask verify [DIR] [--format text|md|csv|json|dot]` and
//! `cargo xtask explain SRC DST[:PORT[/PROTO]]`: what a folder of NetworkPolicy YAML
//! allows, proven against policies/ when the folder is the emitted `k8s/`.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use zero_trust::Protocol;
use zero_trust::eval::{Analysis, ClassId, Inputs, PairVerdict, load_dir};
use zero_trust::verify::{check_intent, model_topology};

use crate::{USAGE, project_root, relative_to_root};

pub fn run(args: &[&str]) -> Result<(), String> {
    let mut dir = None;
    let mut format = Format::Text;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--format" => format = Format::parse(args.next().ok_or("--format needs a value")?)?,
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option `{flag}`\n\n{USAGE}"));
            }
            path if dir.is_none() => dir = Some(path),
            extra => return Err(format!("unexpected argument `{extra}`\n\n{USAGE}")),
        }
    }
    run_verify(dir, format)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Csv,
    Json,
    Dot,
}

impl Format {
    pub fn parse(word: &str) -> Result<Format, String> {
        Ok(match word {
            "text" => Format::Text,
            "md" => Format::Markdown,
            "csv" => Format::Csv,
            "json" => Format::Json,
            "dot" => Format::Dot,
            other => {
                return Err(format!(
                    "unknown format `{other}`; use text, md, csv, json or dot"
                ));
            }
        })
    }
}

/// The YAML of `dir` and the topology to evaluate it over: for the emitted `k8s/`, the
/// model's (and the folder is proven against policies/); for any other folder, its own
/// Namespaces, Pods and workloads.
struct Loaded {
    analysis: Analysis,
    proven_against: Option<zero_trust::Cluster>,
}

fn load(dir: Option<&str>) -> Result<Loaded, String> {
    let k8s = project_root().join("k8s");
    let dir = dir.map(PathBuf::from).unwrap_or_else(|| k8s.clone());
    let mut inputs: Inputs =
        load_dir(&dir).map_err(|errors| lines("cannot read the YAML", &errors))?;
    let mut proven_against = None;
    if same_folder(&dir, &k8s) {
        let cluster = policies::cluster()
            .map_err(|errors| lines("the cluster in policies/ does not assemble", &errors))?;
        inputs.topology = model_topology(&cluster);
        proven_against = Some(cluster);
    }
    let analysis = Analysis::new(&inputs)
        .map_err(|errors| lines(&format!("cannot evaluate {}", dir.display()), &errors))?;
    Ok(Loaded {
        analysis,
        proven_against,
    })
}

fn same_folder(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

fn lines(what: &str, errors: &[impl ToString]) -> String {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| format!("  - {}", e.to_string()))
        .collect();
    format!("{what}:\n{}", lines.join("\n"))
}

pub fn run_verify(dir: Option<&str>, format: Format) -> Result<(), String> {
    let Loaded {
        analysis,
        proven_against,
    } = load(dir)?;
    let pairs: Vec<PairVerdict> = analysis.constrained_pairs().collect();
    print!("{}", render(&analysis, &pairs, format));
    let Some(cluster) = proven_against else {
        eprintln!("(topology from the folder; no policies/ to prove it against)");
        return Ok(());
    };
    let mismatches = check_intent(&cluster, &analysis);
    if mismatches.is_empty() {
        eprintln!(
            "proved: the YAML allows exactly the {} flows of policies/ ({} endpoint classes, every port)",
            cluster.flows.len(),
            analysis.classes().len()
        );
        Ok(())
    } else {
        Err(lines(
            "the YAML does not allow exactly what policies/ declares",
            &mismatches,
        ))
    }
}

fn render(analysis: &Analysis, pairs: &[PairVerdict], format: Format) -> String {
    let name = |id: ClassId| analysis.class(id).to_string();
    let mut out = String::new();
    match format {
        Format::Text => {
            let width = pairs
                .iter()
                .map(|p| name(p.source).len())
                .max()
                .unwrap_or(0);
            for p in pairs {
                let _ = writeln!(
                    out,
                    "{:width$}  ->  {}: {}",
                    name(p.source),
                    name(p.destination),
                    ports(p)
                );
            }
            out.push_str("every other connection: allowed between pods that no policy isolates, denied otherwise\n");
        }
        Format::Markdown => {
            out.push_str("| source | destination | allowed | egress side | ingress side |\n| --- | --- | --- | --- | --- |\n");
            for p in pairs {
                let v = &p.verdict;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    name(p.source),
                    name(p.destination),
                    ports(p),
                    v.egress,
                    v.ingress
                );
            }
        }
        Format::Csv => {
            out.push_str("source,destination,allowed,egress,ingress\n");
            for p in pairs {
                let v = &p.verdict;
                let _ = writeln!(
                    out,
                    "{},{},{},{},{}",
                    csv(&name(p.source)),
                    csv(&name(p.destination)),
                    csv(&ports(p)),
                    csv(&v.egress.to_string()),
                    csv(&v.ingress.to_string())
                );
            }
        }
        Format::Json => {
            let rows: Vec<serde_json::Value> = pairs
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "source": name(p.source),
                        "destination": name(p.destination),
                        "allowed": p.verdict.end_to_end.to_string(),
                        "egress": p.verdict.egress.to_string(),
                        "ingress": p.verdict.ingress.to_string(),
                    })
                })
                .collect();
            out = serde_json::to_string_pretty(&rows).unwrap_or_default();
            out.push('\n');
        }
        Format::Dot => {
            out.push_str("digraph connectivity {\n  rankdir=LR;\n");
            for p in pairs.iter().filter(|p| !p.verdict.end_to_end.is_empty()) {
                let _ = writeln!(
                    out,
                    "  {:?} -> {:?} [label={:?}];",
                    name(p.source),
                    name(p.destination),
                    ports(p)
                );
            }
            out.push_str("}\n");
        }
    }
    out
}

fn ports(pair: &PairVerdict) -> String {
    if pair.verdict.end_to_end.is_empty() {
        "nothing".to_owned()
    } else {
        pair.verdict.end_to_end.to_string()
    }
}

fn csv(field: &str) -> String {
    if field.contains([',', '"']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// `cargo xtask explain SRC DST[:PORT[/PROTO]] [--dir DIR]`.
pub fn run_explain(source: &str, destination: &str, dir: Option<&str>) -> Result<(), String> {
    let Loaded { analysis, .. } = load(dir)?;
    let (destination, port) = match destination.rsplit_once(':') {
        Some((end, port)) if !end.contains(':') || end.contains('/') => {
            (end, Some(parse_port(port)?))
        }
        _ => (destination, None),
    };
    let source = find_class(&analysis, source)?;
    let destination = find_class(&analysis, destination)?;
    match port {
        Some((protocol, port)) => {
            let explanation = analysis
                .explain(source, destination, port, protocol)
                .to_string();
            print!("{}", relative_to_root(&explanation));
        }
        None => {
            let verdict = analysis.verdict(source, destination);
            println!(
                "{} -> {}:",
                analysis.class(source),
                analysis.class(destination)
            );
            println!(
                "  allowed end to end: {}",
                if verdict.end_to_end.is_empty() {
                    "nothing".to_owned()
                } else {
                    verdict.end_to_end.to_string()
                }
            );
            println!("  egress side: {}", verdict.egress);
            println!("  ingress side: {}", verdict.ingress);
            println!("name a port (DST:PORT[/PROTO]) to see the policies and rules that decide it");
        }
    }
    Ok(())
}

fn parse_port(text: &str) -> Result<(Protocol, u16), String> {
    let (number, protocol) = match text.split_once('/') {
        Some((number, protocol)) => {
            let protocol = Protocol::from_dsl(&protocol.to_ascii_lowercase()).ok_or(format!(
                "unknown protocol `{protocol}`; use tcp, udp or sctp"
            ))?;
            (number, protocol)
        }
        None => (text, Protocol::Tcp),
    };
    let port = number
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or(format!("`{number}` is not a port (1 to 65535)"))?;
    Ok((protocol, port))
}

/// `namespace/name` of a pod or workload, `namespace/*` for any other pod of it, or an
/// address.
fn find_class(analysis: &Analysis, text: &str) -> Result<ClassId, String> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(analysis.class_of_address(address));
    }
    let found = match text.split_once('/') {
        Some((namespace, "*")) => analysis.class_of_other_pod(namespace),
        Some((namespace, name)) => analysis.class_of_pod(namespace, name),
        None => None,
    };
    found.ok_or_else(|| {
        let known: Vec<String> = analysis
            .classes()
            .iter()
            .filter(|c| !c.is_address())
            .map(ToString::to_string)
            .take(12)
            .collect();
        format!(
            "no endpoint `{text}`; write NAMESPACE/NAME, NAMESPACE/* or an IP address (known: {})",
            known.join(", ")
        )
    })
}
