//! `cargo xtask import`: existing NetworkPolicies as `zero_trust!` code, and the report of
//! what the translation changes (see `zero_trust::import`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zero_trust::eval::{Inputs, load_dir, load_file, load_str};
use zero_trust::import::{Assumptions, add_workloads, import};

use crate::flags::Import;
use crate::{STDOUT_CLOSED, out, project_root, relative_to_root};

pub fn run(args: &Import) -> ExitCode {
    match run_import(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) if message == STDOUT_CLOSED => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {}", relative_to_root(&message));
            ExitCode::from(2)
        }
    }
}

/// Writes the code and prints the report; `Ok(true)` when nothing differs or differences
/// are accepted.
fn run_import(args: &Import) -> Result<bool, String> {
    let mut inputs = read(&args.paths)?;
    if inputs.policies.is_empty() {
        return Err(format!(
            "no NetworkPolicy in {}; give the files or folders that hold them",
            list(&args.paths)
        ));
    }
    if !args.workloads.is_empty() {
        let workloads = read(&args.workloads)?;
        if !workloads.policies.is_empty() {
            return Err(format!(
                "--workloads {} holds {} NetworkPolicies; pass policies as PATH and only namespaces and workloads with --workloads",
                list(&args.workloads),
                workloads.policies.len()
            ));
        }
        add_workloads(&mut inputs, workloads);
    }
    let assumptions = Assumptions {
        namespace_label: args.namespace_label.clone(),
    };
    let imported = import(&inputs, &assumptions)
        .map_err(|errors| format!("cannot import the policies:\n  {}", errors.join("\n  ")))?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| project_root().join("policies/src/imported"));
    write(&dir, &imported.files, args.force)?;
    let exact = imported.report.is_exact();
    out(format_args!(
        "wrote {} file(s) to {}\n{}",
        imported.files.len(),
        dir.display(),
        imported.report
    ))?;
    if exact {
        out(format_args!(
            "next: add `pub mod {};` to policies/src/lib.rs, use its PARTS, and run `cargo xtask emit`\n",
            dir.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("imported")
        ))?;
    }
    Ok(exact || args.accept_differences)
}

/// Every path's objects, in one set; `-` is standard input.
fn read(paths: &[PathBuf]) -> Result<Inputs, String> {
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    for path in paths {
        let result = if path == Path::new("-") {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            load_str(&mut inputs, Path::new("<stdin>"), &text)
        } else if path.is_dir() {
            load_dir(path).map(|mut loaded| {
                inputs.policies.append(&mut loaded.policies);
                add_workloads(&mut inputs, loaded);
            })
        } else {
            load_file(&mut inputs, path)
        };
        if let Err(e) = result {
            errors.extend(e.iter().map(ToString::to_string));
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(format!("cannot read the input:\n  {}", errors.join("\n  ")))
    }
}

/// Writes every file, or none when one exists and `force` is not given. Each file is
/// written aside and renamed into place, so an interrupted import leaves whole files.
fn write(
    dir: &Path,
    files: &std::collections::BTreeMap<String, String>,
    force: bool,
) -> Result<(), String> {
    let existing: Vec<String> = files
        .keys()
        .filter(|name| dir.join(name).exists())
        .cloned()
        .collect();
    if !existing.is_empty() && !force {
        return Err(format!(
            "{} already holds {}; choose another --out, or pass --force to overwrite",
            dir.display(),
            existing.join(", ")
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        let aside = dir.join(format!(".{name}.importing"));
        std::fs::write(&aside, text)
            .and_then(|()| std::fs::rename(&aside, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            if p == Path::new("-") {
                "standard input".to_owned()
            } else {
                p.display().to_string()
            }
        })
        .collect();
    names.join(", ")
}
