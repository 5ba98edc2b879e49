//! `cargo xtask bench --peers [--quick]`: zero-trust against its peers on the same synthetic
//! platforms, side by side. network-config-analyzer (PyPI) computes the connectivity of the
//! policies zero-trust emits, in the cluster of one pod per workload: against `verify`,
//! which reads, evaluates and proves the same policies. cdk8s-plus (npm) synthesizes the
//! platform's namespaces, workloads and flows into Kubernetes YAML: against emit, which
//! writes the same platform's YAML. Both are installed into a temporary folder (a venv, an
//! npm prefix), removed afterwards; each tool and each zero-trust step runs as a process of
//! its own, timed from start to exit, its peak memory from `wait4`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::child::{TempDir, params_args};
use super::process::{Bounded, Measured, measured, measured_within};
use super::{CHILD, GIB_KIB, MIB, Table, optimized_xtask, params, size_name};
use crate::synth::peers::{CDK8S_PROGRAM, cdk8s_platform, nca_input};
use crate::synth::{Params, Plan};

/// The versions measured: network-config-analyzer's newest release, and cdk8s-plus for
/// the newest Kubernetes line on npm (1.33) with the cdk8s and constructs it was built on.
const NCA: &str = "network-config-analyzer==2.1.0";
const CDK8S: &[&str] = &[
    "cdk8s-plus-33@2.5.57",
    "cdk8s@2.70.106",
    "constructs@10.8.1",
];

/// Runs of each zero-trust step (cheap); each peer runs once (minutes).
const RUNS: usize = 3;

/// How long network-config-analyzer may run before it is stopped and reported as taking
/// longer: on 1,000 pods it was still computing after 70 minutes.
const NCA_LIMIT: Duration = Duration::from_secs(600);

pub fn run(quick: bool) -> Result<(), String> {
    // network-config-analyzer needs minutes for 1,000 pods: the smaller platform only.
    let nca_size = match quick {
        true => params(4, 100, 200),
        false => params(10, 1_000, 2_000),
    };
    let cdk8s_sizes = match quick {
        true => vec![params(10, 1_000, 2_000)],
        false => vec![params(10, 1_000, 2_000), params(100, 10_000, 50_000)],
    };
    let exe = optimized_xtask()?;
    let dir = TempDir::new("peers")?;
    let mut table = Table::new(["what", "peer", "zero-trust", "peer / zero-trust"]);
    table.push_row([
        "installed".to_owned(),
        format!("{NCA}, {}", CDK8S.join(", ")),
        "this checkout, release".to_owned(),
        String::new(),
    ]);

    eprintln!("installing {NCA} into {} ...", dir.path.display());
    let nca = install_nca(&dir.path)?;
    eprintln!("installing {} ...", CDK8S.join(" "));
    let cdk8s = install_cdk8s(&dir.path)?;

    eprintln!(
        "network-config-analyzer on {} (minutes) ...",
        size_name(&nca_size)
    );
    analyzer(&mut table, &exe, &nca, &dir.path, &nca_size)?;
    for params in &cdk8s_sizes {
        eprintln!("cdk8s-plus on {} ...", size_name(params));
        synthesizer(&mut table, &exe, &cdk8s, &dir.path, params)?;
    }
    table.print();
    Ok(())
}

/// A venv with network-config-analyzer; returns its `nca`.
fn install_nca(dir: &Path) -> Result<PathBuf, String> {
    let venv = dir.join("nca-venv");
    run_quietly(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run_quietly(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        NCA,
    ]))?;
    Ok(venv.join("bin/nca"))
}

/// An npm prefix with cdk8s-plus and the program; returns the program's path.
fn install_cdk8s(dir: &Path) -> Result<PathBuf, String> {
    let prefix = dir.join("cdk8s");
    fs::create_dir_all(&prefix).map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    run_quietly(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&prefix)
            .args(CDK8S),
    )?;
    // Next to its node_modules, so that `require` finds them.
    let program = prefix.join("cdk8s_platform.js");
    write(&program, CDK8S_PROGRAM)?;
    Ok(program)
}

/// network-config-analyzer's connectivity map of the emitted policies against
/// `cargo xtask verify`'s proof of the same files.
fn analyzer(
    table: &mut Table,
    exe: &Path,
    nca: &Path,
    dir: &Path,
    params: &Params,
) -> Result<(), String> {
    let size = size_name(params);
    let k8s = dir.join(format!("k8s-{}", params.slug()));
    zero_trust_step(exe, "write-k8s", &k8s, params)?;
    let input = nca_input(&Plan::generate(params))?;
    let (pods, namespaces) = (dir.join("pods.yaml"), dir.join("namespaces.yaml"));
    write(&pods, &input.pods)?;
    write(&namespaces, &input.namespaces)?;

    let log = dir.join("nca.log");
    let run = measured_within(
        Command::new(nca)
            .arg("--connectivity")
            .arg(&k8s)
            .arg("--pod_list")
            .arg(&pods)
            .arg("--ns_list")
            .arg(&namespaces),
        &log,
        Some(NCA_LIMIT),
    )?;
    let analysed = match run {
        Bounded::Finished(_) => {
            let report = fs::read_to_string(&log)
                .map_err(|e| format!("cannot read {}: {e}", log.display()))?;
            nca_analysed(&report, params.workloads).map_err(|why| {
                format!("network-config-analyzer did not analyse the platform ({why}):\n{report}")
            })?
        }
        Bounded::Stopped(_) => format!("not finished: stopped after {} s", NCA_LIMIT.as_secs()),
    };

    let ours = median_of_runs(|| zero_trust_step(exe, "verify", &k8s, params))?;
    let policies = count_policies(&k8s)?;
    table.push_row([
        format!("nca --connectivity vs verify, {size}: what each checked"),
        analysed,
        format!("{policies} policies proven"),
        String::new(),
    ]);
    side_by_side(
        table,
        &format!("nca --connectivity vs verify, {size}"),
        &run,
        &ours,
    );
    Ok(())
}

/// cdk8s-plus synthesizing the platform against emit writing its YAML.
fn synthesizer(
    table: &mut Table,
    exe: &Path,
    program: &Path,
    dir: &Path,
    params: &Params,
) -> Result<(), String> {
    let size = size_name(params);
    let input = dir.join(format!("platform-{}.json", params.slug()));
    let platform = cdk8s_platform(&Plan::generate(params));
    write(&input, &platform.to_string())?;
    let out = dir.join(format!("cdk8s-{}", params.slug()));
    let _ = fs::remove_dir_all(&out);
    let log = dir.join("cdk8s.log");
    let peer = measured(
        Command::new("node").arg(program).arg(&input).arg(&out),
        &log,
    )?;
    let theirs = count_policies(&out)?;
    if theirs == 0 {
        return Err(format!(
            "cdk8s-plus wrote no NetworkPolicy into {}",
            out.display()
        ));
    }
    let _ = fs::remove_dir_all(&out);

    let k8s = dir.join(format!("k8s-{}", params.slug()));
    let ours = median_of_runs(|| zero_trust_step(exe, "write-k8s", &k8s, params))?;
    let policies = count_policies(&k8s)?;
    let _ = fs::remove_dir_all(&k8s);
    table.push_row([
        format!("cdk8s-plus synth vs emit, {size}: NetworkPolicies written"),
        theirs.to_string(),
        policies.to_string(),
        String::new(),
    ]);
    side_by_side(
        table,
        &format!("cdk8s-plus synth vs emit, {size}"),
        &Bounded::Finished(peer),
        &ours,
    );
    Ok(())
}

/// What network-config-analyzer printed shows it analysed every pod and found
/// connections: its summary line (`cluster has N unique endpoints, M namespaces`) counts
/// at least a pod per workload, and it printed rules.
fn nca_analysed(report: &str, workloads: usize) -> Result<String, String> {
    let summary = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("global: cluster has "))
        .ok_or("no `cluster has N unique endpoints` line")?;
    let endpoints: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no endpoint count in `{summary}`"))?;
    if endpoints < workloads {
        return Err(format!(
            "{endpoints} endpoints for {workloads} pods: pods were not read"
        ));
    }
    let rules = report
        .lines()
        .filter(|line| line.contains(" conn: "))
        .count();
    if rules == 0 || !report.contains("final fw rules") {
        return Err("no connectivity rules".to_owned());
    }
    Ok(format!("{summary}; {rules} connectivity rules"))
}

/// One zero-trust step as a process of its own: `cargo xtask __bench-child STEP DIR ...`.
fn zero_trust_step(
    exe: &Path,
    step: &str,
    dir: &Path,
    params: &Params,
) -> Result<Measured, String> {
    let log = dir.with_extension("log");
    let measured = measured(
        Command::new(exe)
            .arg(CHILD)
            .arg(step)
            .arg(dir)
            .args(params_args(params)),
        &log,
    );
    let _ = fs::remove_file(&log);
    measured
}

/// The median wall time of [`RUNS`] runs, and the largest peak memory among them.
fn median_of_runs(mut once: impl FnMut() -> Result<Measured, String>) -> Result<Measured, String> {
    let runs: Vec<Measured> = (0..RUNS).map(|_| once()).collect::<Result<_, _>>()?;
    let mut seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    Ok(Measured {
        seconds: seconds[seconds.len() / 2],
        maxrss_kib: runs.iter().map(|r| r.maxrss_kib).fold(0.0, f64::max),
    })
}

fn side_by_side(table: &mut Table, what: &str, peer: &Bounded, ours: &Measured) {
    let (peer, at_least) = match peer {
        Bounded::Finished(peer) => (peer, ""),
        Bounded::Stopped(peer) => (peer, "> "),
    };
    // One decimal below 10: a peer using less than zero-trust shows as under 1x.
    let ratio = |theirs: f64, ours: f64| match theirs / ours.max(f64::MIN_POSITIVE) {
        ratio if ratio < 10.0 => format!("{at_least}{ratio:.1}x"),
        ratio => format!("{at_least}{ratio:.0}x"),
    };
    let once = match at_least {
        "" => "(once)",
        _ => "(stopped)",
    };
    table.push_row([
        format!("{what}: time"),
        format!("{at_least}{:.2} s {once}", peer.seconds),
        format!("{:.3} s (median of {RUNS})", ours.seconds),
        ratio(peer.seconds, ours.seconds),
    ]);
    let memory = |kib: f64| match kib >= GIB_KIB {
        true => format!("{:.2} GiB", kib / GIB_KIB),
        false => format!("{:.0} MiB", kib / MIB),
    };
    table.push_row([
        format!("{what}: peak memory"),
        format!("{at_least}{}", memory(peer.maxrss_kib)),
        memory(ours.maxrss_kib),
        ratio(peer.maxrss_kib, ours.maxrss_kib),
    ]);
}

/// How many NetworkPolicy documents the YAML files of `dir` hold.
fn count_policies(dir: &Path) -> Result<usize, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut count = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            count += text
                .lines()
                .filter(|line| line.trim_end() == "kind: NetworkPolicy")
                .count();
        }
    }
    Ok(count)
}

fn run_quietly(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_analysis_counts_only_when_every_pod_was_read_and_rules_were_found() {
        let report = "Info: Found missing elements\nglobal: cluster has 103 unique endpoints, 7 namespaces\n\
             final fw rules for query: , config: k8s**:\n\
             src_ns: [a] src_pods: [*] dst_ns: [b] dst_pods: [*] conn: {protocols:TCP,dst_ports:80}\n";
        assert_eq!(
            nca_analysed(report, 100).unwrap(),
            "103 unique endpoints, 7 namespaces; 1 connectivity rules"
        );
        assert!(
            nca_analysed(report, 200)
                .unwrap_err()
                .contains("pods were not read")
        );
        let no_rules = report.lines().take(3).collect::<Vec<_>>().join("\n");
        assert_eq!(
            nca_analysed(&no_rules, 100).unwrap_err(),
            "no connectivity rules"
        );
        assert!(nca_analysed("Error: 'spec'", 100).is_err());
    }
}
