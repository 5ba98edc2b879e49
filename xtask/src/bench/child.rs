//! The measurements themselves, each run in a fresh child process (`cargo xtask
//! __bench-child ...`, optimized) so that its peak memory is its own. Each prints one line
//! of `key=value` pairs for the parent to read.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use zero_trust::emit::emit;
use zero_trust::eval::LoadedPolicy;
use zero_trust::verify::{PolicyChange, ProvenState, Reproved};

use crate::synth::change::{FlowEdit, edit_one_flow};
use crate::synth::{Params, digest::cluster_digest, synthetic_cluster};

pub fn run(args: &[&str]) -> Result<(), String> {
    match args {
        ["emit", params @ ..] => measure_emit(&parse_params(params)?),
        ["digest", params @ ..] => {
            println!(
                "{}",
                cluster_digest(&synthetic_cluster(&parse_params(params)?))
            );
            Ok(())
        }
        ["build", manifest, target_dir, package] => measure_build(manifest, target_dir, package),
        ["write-k8s", dir, params @ ..] => write_k8s(Path::new(dir), &parse_params(params)?),
        ["verify", dir, params @ ..] => measure_verify(Path::new(dir), &parse_params(params)?),
        ["rollout", dir, params @ ..] => measure_rollout(Path::new(dir), &parse_params(params)?),
        ["reprove", params @ ..] => measure_reprove(&parse_params(params)?),
        _ => Err(format!("unknown bench child `{}`", args.join(" "))),
    }
}

/// `K N M S`, as the parent passes them.
fn parse_params(args: &[&str]) -> Result<Params, String> {
    let numbers: Vec<u64> = args
        .iter()
        .map(|a| a.parse().map_err(|_| format!("not a number: `{a}`")))
        .collect::<Result<_, _>>()?;
    let [namespaces, workloads, flows, seed] = numbers[..] else {
        return Err("expected namespaces, workloads, flows and seed".to_owned());
    };
    Ok(Params {
        namespaces: namespaces as usize,
        workloads: workloads as usize,
        flows: flows as usize,
        seed,
    })
}

pub fn params_args(params: &Params) -> Vec<String> {
    [
        params.namespaces as u64,
        params.workloads as u64,
        params.flows as u64,
        params.seed,
    ]
    .iter()
    .map(u64::to_string)
    .collect()
}

/// Emit as `cargo xtask emit` does (lower, render YAML, write the files), then the same
/// bytes in one `fs::write`: what the disk alone costs.
fn measure_emit(params: &Params) -> Result<(), String> {
    let start = Instant::now();
    let cluster = synthetic_cluster(params);
    let model_ms = ms_since(start);

    let dir = TempDir::new("emit")?;
    let start = Instant::now();
    let emitted = emit(&cluster).map_err(|e| format!("could not render YAML: {e}"))?;
    let render_ms = ms_since(start);
    let files = dir.path.join("k8s");
    fs::create_dir(&files).map_err(|e| io_error(&files, e))?;
    for (name, text) in &emitted.files {
        let path = files.join(name);
        fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    }
    let emit_ms = ms_since(start);

    let all: String = emitted.files.values().map(String::as_str).collect();
    let path = dir.path.join("all.yaml");
    let start = Instant::now();
    fs::write(&path, &all).map_err(|e| io_error(&path, e))?;
    let write_once_ms = ms_since(start);
    println!(
        "model_ms={model_ms:.1} render_ms={render_ms:.1} emit_ms={emit_ms:.1} write_once_ms={write_once_ms:.1} files={} bytes={} vmhwm_kib={}",
        emitted.files.len(),
        all.len(),
        peak_memory_kib()?
    );
    Ok(())
}

/// Writes what `cargo xtask emit` would write for the synthetic cluster into `dir`: the
/// input of [`measure_verify`], written once and not timed.
fn write_k8s(dir: &Path, params: &Params) -> Result<(), String> {
    let emitted =
        emit(&synthetic_cluster(params)).map_err(|e| format!("could not render YAML: {e}"))?;
    write_files(dir, &emitted.files)
}

/// Makes `dir` hold exactly `files`.
fn write_files(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    for (name, text) in files {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    }
    Ok(())
}

/// What `cargo xtask verify` does for k8s/: read every YAML file back, validate each
/// policy, evaluate them over the model's topology and prove they allow exactly the
/// declared flows. The model itself is built first and not timed.
fn measure_verify(dir: &Path, params: &Params) -> Result<(), String> {
    let cluster = synthetic_cluster(params);
    let start = Instant::now();
    let proof = zero_trust::verify::prove_emitted(&cluster, dir).map_err(|problems| {
        format!(
            "the synthetic cluster does not prove: {}",
            problems.join("\n")
        )
    })?;
    let verify_ms = ms_since(start);
    println!(
        "verify_ms={verify_ms:.1} policies={} classes={} vmhwm_kib={}",
        proof.policies,
        proof.classes,
        peak_memory_kib()?
    );
    Ok(())
}

/// The proofs `cargo xtask emit` runs on the staged folder of a first rollout (from a
/// cluster without the policies): read back and prove the emitted files, then prove the
/// rollout order with the policies that proof read, on its analysis. Writing the files is
/// not timed.
fn measure_rollout(dir: &Path, params: &Params) -> Result<(), String> {
    let cluster = synthetic_cluster(params);
    let emitted = emit(&cluster).map_err(|e| format!("could not render YAML: {e}"))?;
    write_files(dir, &emitted.files)?;
    let start = Instant::now();
    let (proof, analysis) = zero_trust::verify::prove_emitted_analysed(&cluster, dir)
        .map_err(|problems| format!("the synthetic cluster does not prove: {}", problems[0]))?;
    let prove_ms = ms_since(start);
    let start = Instant::now();
    let new = zero_trust::rollout::in_rollout_order(&emitted.plan, proof.loaded)?;
    let rollout = zero_trust::rollout::prove_emitted_rollouts(&cluster, analysis, &[], &new)
        .map_err(|(_, problem)| problem)?
        .first;
    let rollout_ms = ms_since(start);
    println!(
        "prove_ms={prove_ms:.1} rollout_ms={rollout_ms:.1} steps={} sides={} per_class={} vmhwm_kib={}",
        rollout.steps.len(),
        rollout.sides_checked,
        rollout.sides_decided_per_class,
        peak_memory_kib()?
    );
    Ok(())
}

/// The re-proof after one flow line is edited ([`FlowEdit`]: removed, added, its port
/// changed), from the proof of the cluster before: the files whose text changed are found
/// and read back, the policies in them compared with those they replace, and only what
/// the change can affect decided again ([`ProvenState::reprove`]). Emitting the new files
/// is not timed (that is emit's cost, not the proof's); the figures are each edit's.
fn measure_reprove(params: &Params) -> Result<(), String> {
    let mut cluster = synthetic_cluster(params);
    let mut files = emit(&cluster)
        .map_err(|e| format!("could not render YAML: {e}"))?
        .files;
    let policies = zero_trust::rollout::read_manifests("the emitted files", &files)?;
    let mut state = ProvenState::new(cluster.clone(), policies)
        .map_err(|errors| format!("the synthetic cluster does not compile: {}", errors[0]))?;
    let mut rng = fastrand::Rng::with_seed(params.seed);
    let mut figures = Vec::new();
    for edit in [FlowEdit::Remove, FlowEdit::Add, FlowEdit::ChangePort] {
        let next = edit_one_flow(&cluster, edit, &mut rng);
        let next_files = emit(&next)
            .map_err(|e| format!("could not render YAML: {e}"))?
            .files;
        let start = Instant::now();
        let changed: BTreeMap<String, String> = next_files
            .iter()
            .filter(|(name, text)| files.get(*name) != Some(*text))
            .map(|(name, text)| (name.clone(), text.clone()))
            .collect();
        let gone: Vec<&String> = files
            .keys()
            .filter(|name| !next_files.contains_key(*name))
            .collect();
        let read = zero_trust::rollout::read_manifests("the emitted files", &changed)?;
        let before: Vec<LoadedPolicy> = state
            .policies()
            .filter(|p| {
                let file = p
                    .source
                    .file
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy();
                changed.contains_key(file.as_ref()) || gone.iter().any(|g| **g == file)
            })
            .cloned()
            .collect();
        let change = PolicyChange::between(&before, &read);
        let read_ms = ms_since(start);
        let how = state
            .reprove(next.clone(), change)
            .map_err(|errors| format!("the changed cluster does not compile: {}", errors[0]))?;
        let reprove_ms = ms_since(start);
        if !state.mismatches().is_empty() {
            return Err(format!(
                "the re-proof after {edit:?} fails: {}",
                state.mismatches()[0]
            ));
        }
        let Reproved::Incremental {
            pods,
            egress_owners,
            ingress_owners,
        } = how
        else {
            return Err(format!(
                "the re-proof after {edit:?} started afresh: {how:?}"
            ));
        };
        figures.push(format!(
            "{edit:?}_ms={reprove_ms:.1} {edit:?}_read_ms={read_ms:.1} {edit:?}_files={} {edit:?}_pods={pods} {edit:?}_owners={}",
            changed.keys().chain(gone).filter(|name| name.ends_with(".yaml")).count(),
            egress_owners + ingress_owners
        ));
        (cluster, files) = (next, next_files);
    }
    println!("{} vmhwm_kib={}", figures.join(" "), peak_memory_kib()?);
    Ok(())
}

/// A clean build of `package` (its dependencies already built), and the peak memory of
/// the largest process it ran: rustc.
fn measure_build(manifest: &str, target_dir: &str, package: &str) -> Result<(), String> {
    let cargo = |args: &[&str]| {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(args)
            .args([
                "--quiet",
                "--manifest-path",
                manifest,
                "--target-dir",
                target_dir,
            ])
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        match status.success() {
            true => Ok(()),
            false => Err(format!("`cargo {}` failed for {manifest}", args.join(" "))),
        }
    };
    cargo(&["clean", "--package", package])?;
    let start = Instant::now();
    cargo(&["build"])?;
    let build_ms = ms_since(start);
    println!(
        "build_ms={build_ms:.1} maxrss_kib={}",
        children_peak_memory_kib()
    );
    Ok(())
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn io_error(path: &Path, e: std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// The peak resident memory of this process (`VmHWM`), in KiB.
fn peak_memory_kib() -> Result<u64, String> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status (Linux only): {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/self/status".to_owned())
}

/// The largest peak resident memory among the finished children and their descendants,
/// in KiB: `ru_maxrss` of `RUSAGE_CHILDREN`, which `/proc` does not keep once they exit.
fn children_peak_memory_kib() -> i64 {
    // SAFETY: `getrusage` only writes the `rusage` it is given, which lives on this stack
    // and is valid zeroed.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

/// A folder under the system's temp dir, removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(what: &str) -> Result<TempDir, String> {
        let path =
            std::env::temp_dir().join(format!("zero-trust-bench-{what}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| io_error(&path, e))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
