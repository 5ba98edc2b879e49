//! (g): the daily loop of a large platform (issue 15, target 1): one flow line edited,
//! then `cargo xtask emit`, against `cargo xtask emit` when nothing changed. The platform
//! is the `policies/src/` of a clone of this repository's HEAD, built in a target dir of
//! its own, kept between runs of the bench as (b)'s is (the first run builds the
//! dependencies). Not this checkout's: cargo names the clone's crates as it names this
//! checkout's (by their path in the workspace), so each build would replace the other's.
//!
//! Each run is `cargo build -p xtask` and then `cargo xtask emit`, two processes: together
//! the work of one `cargo xtask emit` (the second finds xtask built), apart so that the
//! peak memory of the build (rustc) is not the emit's. Edited and unchanged runs alternate.

use std::collections::BTreeSet;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::{Measured, measured};
use super::{GIB_KIB, Table, cargo, size_name, synth_root};
use crate::project_root;
use crate::synth::{self, Params, Plan};

/// Runs of each kind: the edit toggles one line, deleted in the odd runs, restored in the
/// even ones, so every edited run changes one flow.
const RUNS: usize = 3;

pub fn edit_one_flow(table: &mut Table, params: &Params) -> Result<(), String> {
    let dir = synth_root().join("edit-flow");
    clone_head(&dir)?;
    let plan = Plan::generate(params);
    let src = dir.join("policies/src");
    synth::write_policies(&plan, params, &src)?;
    // The guide's manifests do not describe the synthetic workloads, and its k8s/ is not
    // the platform's: the first emit writes the platform's from nothing.
    for path in [dir.join(crate::workloads::CONFIG), dir.join("k8s")] {
        let _ = fs::remove_file(&path);
        let _ = fs::remove_dir_all(&path);
    }
    let part = &plan.parts[plan.parts.len() / 2];
    let file = src.join(format!("{}.rs", part.module));
    let original = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let line = flow_line(&plan, part, &original)
        .ok_or_else(|| format!("no flow between local workloads in {}", file.display()))?;
    let edited = original.replacen(&format!("{line}\n"), "", 1);
    eprintln!(
        "  building the clone and emitting {} once; the edit toggles `{}` in {} ...",
        size_name(params),
        line.trim(),
        file.display()
    );
    run(&dir)?;

    let k8s = dir.join("k8s");
    let mut emitted = digest(&k8s)?;
    let (mut unchanged, mut changed) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let same = run(&dir)?;
        if same.compiled || digest(&k8s)? != emitted {
            return Err("a run with nothing changed rebuilt or emitted something else".to_owned());
        }
        unchanged.push(same);
        let text = if i % 2 == 0 { &edited } else { &original };
        fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let edit = run(&dir)?;
        let after = digest(&k8s)?;
        if !edit.compiled || after == emitted {
            return Err(format!(
                "editing `{}` did not rebuild and change the emitted YAML",
                line.trim()
            ));
        }
        emitted = after;
        changed.push(edit);
    }
    let _ = fs::remove_dir_all(&dir);

    let size = size_name(params);
    let total = |runs: &[Run]| median(runs.iter().map(|r| r.build.seconds + r.emit.seconds));
    let (same_s, edit_s) = (total(&unchanged), total(&changed));
    let rebuild_s = median(changed.iter().map(|r| r.build.seconds));
    let peak = |runs: &[Run], of: fn(&Run) -> &Measured| {
        runs.iter().map(|r| of(r).maxrss_kib).fold(0.0, f64::max)
    };
    table.seconds(
        &format!("(g) cargo xtask emit, nothing changed, {size}"),
        same_s * 1e3,
        None,
        RUNS,
    );
    table.seconds(
        &format!("(g) cargo xtask emit after one flow line edited, {size}"),
        edit_s * 1e3,
        None,
        RUNS,
    );
    table.seconds(
        "(g) of which rebuilding policies and linking xtask",
        rebuild_s * 1e3,
        None,
        RUNS,
    );
    table.push(
        "(g) edited / nothing changed",
        format!("{:.2}x", edit_s / same_s),
        Some("<= 2x".to_owned()),
        Some(edit_s <= 2.0 * same_s),
    );
    table.memory(
        &format!("(d) peak memory, rustc rebuilding after the edit, {size}"),
        peak(&changed, |r| &r.build),
    );
    let emit_peak = peak(&changed, |r| &r.emit).max(peak(&unchanged, |r| &r.emit));
    table.push(
        &format!("(d) peak memory, the emit process (debug), {size}"),
        format!("{:.0} MiB", emit_peak / super::MIB),
        Some("< 1 GiB".to_owned()),
        Some(emit_peak < GIB_KIB),
    );
    Ok(())
}

/// A fresh clone of this repository's HEAD in `dir`, at the same path every time so that
/// the target dir keeps one build of its crates.
fn clone_head(dir: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    let status = Command::new("git")
        .args(["clone", "--quiet"])
        .arg(project_root())
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err("`git clone` of this repository failed".to_owned()),
    }
}

/// A flow line of `part` between two workloads it declares (`a -> b:port;`): deleting it
/// leaves every name declared and every import used elsewhere or not at all.
fn flow_line<'t>(plan: &Plan, part: &synth::Part, text: &'t str) -> Option<&'t str> {
    let declared: BTreeSet<&str> = part
        .namespaces
        .iter()
        .flat_map(|&n| &plan.namespaces[n].workloads)
        .map(|&w| plan.workloads[w].ident.as_str())
        .collect();
    let candidates: Vec<&str> = text
        .lines()
        .filter(|line| {
            let Some((from, to)) = line.trim().split_once(" -> ") else {
                return false;
            };
            let to = to.split(':').next().unwrap_or_default();
            declared.contains(from) && declared.contains(to)
        })
        .collect();
    candidates.get(candidates.len() / 2).copied()
}

/// One `cargo build -p xtask`, then one `cargo xtask emit`, in the clone.
struct Run {
    build: Measured,
    emit: Measured,
    /// Whether the build compiled anything.
    compiled: bool,
}

fn run(dir: &Path) -> Result<Run, String> {
    let log = dir.with_extension("log");
    let in_clone = |args: &[&str]| {
        let mut command = cargo(args);
        command.current_dir(dir).env(
            "CARGO_TARGET_DIR",
            project_root().join("target/edit-flow-target"),
        );
        command
    };
    let build = measured(&mut in_clone(&["build", "-p", "xtask"]), &log)?;
    let compiled = fs::read_to_string(&log).is_ok_and(|text| text.contains("Compiling "));
    let emit = measured(&mut in_clone(&["xtask", "emit"]), &log)?;
    let _ = fs::remove_file(&log);
    Ok(Run {
        build,
        emit,
        compiled,
    })
}

/// A digest of every file under `dir`, by path and content: whether an emit changed them.
fn digest(dir: &Path) -> Result<u64, String> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries =
            fs::read_dir(&folder).map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
        for entry in entries.flatten() {
            match entry.file_type().is_ok_and(|t| t.is_dir()) {
                true => folders.push(entry.path()),
                false => files.push(entry.path()),
            }
        }
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        let bytes = fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        (file, bytes).hash(&mut hasher);
    }
    Ok(hasher.finish())
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
