//! `cargo xtask verify [DIR] [--format text|md|csv|json|dot]` and
//! `cargo xtask explain SRC DST[:PORT[/PROTO]]`: what a folder of NetworkPolicy YAML
//! allows, proven against policies/ when the folder is the emitted `k8s/`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use zero_trust::eval::{Analysis, ClassId, EndpointClass, Inputs, PairVerdict, load_dir};
use zero_trust::verify::{SHOWN_PROBLEMS, bounded_problems, check_intent, model_topology};
use zero_trust::{FIRST_PORT, LAST_PORT, Protocol};

use crate::{out, project_root, relative_to_root};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    #[value(name = "md")]
    Markdown,
    Csv,
    Json,
    Dot,
}

/// The YAML of `dir` and the topology to evaluate it over: for the emitted `k8s/`, the
/// model's (and the folder is proven against policies/); for any other folder, its own
/// Namespaces, Pods and workloads.
struct Loaded {
    analysis: Analysis,
    proven_against: Option<zero_trust::Cluster>,
    inputs: Inputs,
}

fn load(dir: Option<&Path>) -> Result<Loaded, String> {
    let k8s = project_root().join("k8s");
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| k8s.clone());
    let mut inputs: Inputs =
        load_dir(&dir).map_err(|errors| lines("cannot read the YAML", &errors))?;
    let mut proven_against = None;
    if same_folder(&dir, &k8s) {
        let cluster = policies::cluster()
            .map_err(|errors| lines("the cluster in policies/ does not assemble", &errors))?;
        inputs.topology = model_topology(&cluster);
        proven_against = Some(cluster);
    }
    // Validates every NetworkPolicy with the API server's rules, then evaluates them.
    let analysis = Analysis::new(&inputs)
        .map_err(|errors| lines(&format!("cannot evaluate {}", dir.display()), &errors))?;
    Ok(Loaded {
        analysis,
        proven_against,
        inputs,
    })
}

fn same_folder(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// `what`, then the first [`SHOWN_PROBLEMS`] errors and a count of the rest.
pub fn lines(what: &str, errors: &[impl ToString]) -> String {
    let lines: Vec<String> = bounded_problems(errors, SHOWN_PROBLEMS)
        .iter()
        .map(|e| format!("  - {e}"))
        .collect();
    format!("{what}:\n{}", lines.join("\n"))
}

pub fn run_verify(args: &crate::flags::Verify) -> Result<(), String> {
    let Loaded {
        analysis,
        proven_against,
        inputs,
    } = load(args.dir.as_deref())?;
    if args.verbose {
        print_skipped(&inputs);
    }
    let pairs: Vec<PairVerdict> = analysis.constrained_pairs().collect();
    out(render(&analysis, &pairs, args.format))?;
    let Some(cluster) = proven_against else {
        eprintln!("(topology from the folder; no policies/ to prove it against)");
        return crate::workloads::run(args, None, &inputs);
    };
    let mismatches = check_intent(&cluster, &analysis);
    if mismatches.is_empty() {
        eprintln!(
            "proved: the YAML allows exactly the {} flows of policies/ ({} endpoint classes, every port)",
            cluster.flows.len(),
            analysis.classes().len()
        );
        crate::workloads::run(args, Some(&cluster), &inputs)
    } else {
        Err(lines(
            "the YAML does not allow exactly what policies/ declares",
            &mismatches,
        ))
    }
}

/// `--verbose`: the objects the loader skipped, since they carry neither pods nor policies.
pub fn print_skipped(inputs: &Inputs) {
    for skipped in &inputs.skipped {
        eprintln!(
            "skipped (no pods, no policies): {}",
            relative_to_root(&skipped.to_string())
        );
    }
    let unlisted = inputs.skipped_count - inputs.skipped.len();
    if unlisted > 0 {
        eprintln!("… and {unlisted} more skipped objects");
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
pub fn run_explain(source: &str, destination: &str, dir: Option<&Path>) -> Result<(), String> {
    let (destination, port) = split_destination(destination)?;
    let port = port.map(parse_port).transpose()?;
    let Loaded { analysis, .. } = load(dir)?;
    let source = find_class(&analysis, source)?;
    let destination = find_class(&analysis, destination)?;
    let text = match port {
        Some((protocol, port)) => analysis
            .explain(source, destination, port, protocol)
            .to_string(),
        None => {
            let verdict = analysis.verdict(source, destination);
            let allowed = if verdict.end_to_end.is_empty() {
                "nothing".to_owned()
            } else {
                verdict.end_to_end.to_string()
            };
            format!(
                "{} -> {}:\n  allowed end to end: {allowed}\n  egress side: {}\n  ingress side: {}\n\
                 name a port (DST:PORT[/PROTO]) to see the policies and rules that decide it\n",
                analysis.class(source),
                analysis.class(destination),
                verdict.egress,
                verdict.ingress
            )
        }
    };
    out(relative_to_root(&text))
}

/// `DST[:PORT[/PROTO]]` into the endpoint and the port text. An IPv6 address with a port
/// is written `[fd00::1]:443`; `fd00::1:443` is refused, since it is also an address.
fn split_destination(text: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let bad = || {
            format!("`{text}` is not `[IPV6]` or `[IPV6]:PORT[/PROTO]`, e.g. `[fd00::1]:443/tcp`")
        };
        let (address, after) = rest.split_once(']').ok_or_else(bad)?;
        if address.parse::<Ipv6Addr>().is_err() {
            return Err(bad());
        }
        return match after {
            "" => Ok((address, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((address, Some(port))),
                None => Err(bad()),
            },
        };
    }
    let Some((end, port)) = text.rsplit_once(':') else {
        return Ok((text, None));
    };
    let number = port.split_once('/').map_or(port, |(number, _)| number);
    let ambiguous = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && end.parse::<Ipv6Addr>().is_ok();
    if ambiguous {
        return Err(format!(
            "`{text}` is ambiguous: write `[{end}]:{port}` for port {number} of {end}, \
             or `[{end}:{number}]` for that address without a port"
        ));
    }
    if text.parse::<Ipv6Addr>().is_ok() {
        return Ok((text, None));
    }
    if end.contains(':') && !end.contains('/') {
        return Err(format!(
            "`{text}` is not an endpoint; write an IPv6 address with a port as `[IPV6]:PORT`"
        ));
    }
    Ok((end, Some(port)))
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
        .filter(|p| *p >= FIRST_PORT)
        .ok_or(format!(
            "`{number}` is not a port ({FIRST_PORT} to {LAST_PORT})"
        ))?;
    Ok((protocol, port))
}

/// `namespace/name` of a pod or workload, `namespace/*` for any other pod of it, or an
/// address.
fn find_class(analysis: &Analysis, text: &str) -> Result<ClassId, String> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if let Ok(address) = bare.parse::<IpAddr>() {
        return Ok(analysis.class_of_address(address));
    }
    let found = match text.split_once('/') {
        Some((namespace, "*")) => analysis.class_of_other_pod(namespace),
        Some((namespace, name)) => analysis.class_of_pod(namespace, name),
        None => None,
    }
    // As `verify` prints a workload's pod: `prod/deployment/api`.
    .or_else(|| {
        let position = analysis
            .classes()
            .iter()
            .position(|c| matches!(c, EndpointClass::Pod(pod) if pod.display_name() == text))?;
        ClassId::try_from(position).ok()
    });
    found.ok_or_else(|| unknown_endpoint(text, &endpoint_names(analysis)))
}

/// The names `explain` takes for the pods of `analysis`: `NAMESPACE/NAME` and
/// `NAMESPACE/*`, sorted, each once.
fn endpoint_names(analysis: &Analysis) -> Vec<String> {
    let mut names: Vec<String> = analysis
        .classes()
        .iter()
        .filter_map(|class| match class {
            EndpointClass::Pod(pod) => Some(format!("{}/{}", pod.namespace, pod.name)),
            EndpointClass::OtherPodIn { namespace } => Some(format!("{namespace}/*")),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Why `text` names no endpoint, with the (up to 3) closest of `known` by edit distance.
fn unknown_endpoint(text: &str, known: &[String]) -> String {
    let mut message = format!("no endpoint `{text}`");
    let close = closest(text, known);
    if !close.is_empty() {
        let close: Vec<String> = close.iter().map(|name| format!("`{name}`")).collect();
        let _ = write!(message, "; did you mean {}?", or_list(&close));
    }
    message.push_str(
        "\nwrite NAMESPACE/NAME, NAMESPACE/* (any other pod of the namespace) or an IP \
         address; `cargo xtask verify [DIR]` prints the endpoints and what each may \
         reach",
    );
    message
}

/// Up to 3 names of `known` near `text`, nearest first: by edit distance to the whole name
/// or, when `text` has no namespace, to the name after it.
fn closest<'a>(text: &str, known: &'a [String]) -> Vec<&'a str> {
    let near_enough = (text.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .map(|name| {
            let whole = strsim::levenshtein(text, name);
            let bare = match (text.contains('/'), name.split_once('/')) {
                (false, Some((_, bare))) => strsim::levenshtein(text, bare),
                _ => whole,
            };
            (whole.min(bare), name.as_str())
        })
        .filter(|(distance, _)| *distance <= near_enough)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_endpoint_suggests_the_closest_names() {
        let known: Vec<String> = [
            "prod-api/main-api",
            "prod-api/main-web",
            "prod-api/*",
            "prod-db/postgres",
            "staging-api/main-api",
            "monitoring/prometheus",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            closest("prod-api/mian-api", &known),
            ["prod-api/main-api", "prod-api/main-web"]
        );
        // A name without its namespace is compared with the names after the namespace.
        assert_eq!(
            closest("main-api", &known),
            ["prod-api/main-api", "staging-api/main-api"]
        );
        // Up to 3, nearest first.
        let many = ["ns/web-3", "ns/web-1", "ns/web-22", "ns/web-2", "ns/web"].map(String::from);
        assert_eq!(
            closest("ns/web-2", &many),
            ["ns/web-2", "ns/web-1", "ns/web-22"]
        );
        assert_eq!(closest("prometheus", &known), ["monitoring/prometheus"]);
        assert!(closest("nothing-like-it/at-all", &known).is_empty());

        let message = unknown_endpoint("prod-api/mian-api", &known);
        assert!(
            message.starts_with(
                "no endpoint `prod-api/mian-api`; did you mean `prod-api/main-api` or \
                 `prod-api/main-web`?\n"
            ),
            "{message}"
        );
        assert!(message.contains("`cargo xtask verify [DIR]`"), "{message}");
        assert!(!message.contains("postgres"), "{message}");
        let far = unknown_endpoint("zzz", &known);
        assert!(!far.contains("did you mean"), "{far}");
        assert!(far.contains("`cargo xtask verify [DIR]`"), "{far}");
    }

    #[test]
    fn destinations_with_ipv6_addresses_are_read_without_guessing() {
        for (text, expected) in [
            ("ns/name:443", ("ns/name", Some("443"))),
            ("ns/*:53/udp", ("ns/*", Some("53/udp"))),
            ("10.0.0.1:443/tcp", ("10.0.0.1", Some("443/tcp"))),
            ("10.0.0.1", ("10.0.0.1", None)),
            ("[fd00::1]:443", ("fd00::1", Some("443"))),
            ("[fd00::1]:443/udp", ("fd00::1", Some("443/udp"))),
            ("[fd00::1]", ("fd00::1", None)),
            ("fd00::1", ("fd00::1", None)),
            ("2001:db8::1", ("2001:db8::1", None)),
            ("fd00::abc", ("fd00::abc", None)),
        ] {
            assert_eq!(split_destination(text), Ok(expected), "{text}");
        }
        for (text, message) in [
            ("fd00::1:443", "write `[fd00::1]:443` for port 443"),
            ("fd00::1:443/udp", "write `[fd00::1]:443/udp`"),
            ("[fd00::1]443", "is not `[IPV6]`"),
            ("[ns/a]:443", "is not `[IPV6]`"),
            ("[fd00::1", "is not `[IPV6]`"),
            ("fd00::zz:1", "is not an endpoint"),
        ] {
            let error = split_destination(text).unwrap_err();
            assert!(error.contains(message), "{text}: {error}");
        }
    }
}
