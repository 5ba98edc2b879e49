//! Writing a synthetic platform as a crate in the DSL: one file per group of namespaces,
//! `lib.rs` assembling `PARTS`, a `Cargo.toml` of its own workspace, and an example that
//! prints the digest of the cluster (to compare with the in-memory one).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use zero_trust::PortRange;

use super::{End, Params, Part, Plan};
use crate::project_root;

/// Writes the crate of `plan` into `dir`, only the files that changed (so cargo keeps what
/// it built), and removes generated sources no longer produced. Returns how many files
/// the crate has.
pub fn write_crate(plan: &Plan, params: &Params, dir: &Path) -> Result<usize, String> {
    let command = params.command();
    let mut files = vec![
        (
            "Cargo.toml".to_owned(),
            manifest(&format!("synth-{}", params.slug()), &command),
        ),
        ("src/lib.rs".to_owned(), lib_rs(plan, &command)),
        ("examples/digest.rs".to_owned(), digest_example(&command)),
    ];
    for part in &plan.parts {
        files.push((
            format!("src/{}.rs", part.module),
            part_rs(plan, part, &command),
        ));
    }
    remove_stale_sources(dir, &files)?;
    write_files(dir, &files)?;
    copy_lock_file(dir)?;
    Ok(files.len())
}

/// The platform as the `policies/src/` of a copy of this workspace, in the shape of the
/// project's own `policies/src/lib.rs` (`PARTS`, `SOURCE`, `CLUSTERS`, `clusters()`), so
/// that `cargo xtask emit` in the copy emits it: what `cargo xtask bench` measures edits
/// on. Files already there are replaced.
pub fn write_policies(plan: &Plan, params: &Params, src: &Path) -> Result<(), String> {
    let command = params.command();
    let mut files = vec![("lib.rs".to_owned(), policies_lib_rs(plan, &command))];
    for part in &plan.parts {
        files.push((format!("{}.rs", part.module), part_rs(plan, part, &command)));
    }
    let _ = fs::remove_dir_all(src);
    write_files(src, &files)
}

/// A crate with the same dependencies and no policy: the baseline of build times.
pub fn write_empty_crate(dir: &Path) -> Result<(), String> {
    let command = "cargo xtask bench";
    let lib = format!(
        "{}\n//!\n//! No policy: the build-time baseline of the synthetic platforms.\n\n\
         use zero_trust::Policy;\n\npub const PARTS: &[&Policy] = &[];\n",
        header("//!", command)
    );
    let files = [
        ("Cargo.toml".to_owned(), manifest("synth-empty", command)),
        ("src/lib.rs".to_owned(), lib),
    ];
    write_files(dir, &files)?;
    copy_lock_file(dir)
}

/// The project's `Cargo.lock`, so the crate builds with the very dependencies the project
/// does (cargo drops the entries it does not need); kept once there.
fn copy_lock_file(dir: &Path) -> Result<(), String> {
    let lock = dir.join("Cargo.lock");
    if lock.exists() {
        return Ok(());
    }
    fs::copy(project_root().join("Cargo.lock"), &lock)
        .map(drop)
        .map_err(|e| format!("cannot write {}: {e}", lock.display()))
}

fn header(comment: &str, command: &str) -> String {
    format!("{comment} Written by `{command}`; do not edit by hand.")
}

fn manifest(name: &str, command: &str) -> String {
    let zero_trust = project_root().join("zero-trust");
    let path = zero_trust.display().to_string();
    let path = path.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "{}\n\n[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\nname = \"synth\"\n\n\
         [dependencies]\nzero-trust = {{ path = \"{path}\" }}\n\n\
         # A workspace of its own, outside the project's, built as the project builds\n\
         # `policies/`: the profiles of the project's Cargo.toml.\n[workspace]\n\n{}",
        header("#", command),
        project_profiles(name)
    )
}

/// The `[profile.*]` tables of the project's `Cargo.toml`, their keys without the comments:
/// the synthetic crate (the package `name`) is then built as `policies/` is, whatever the
/// project's profile, including the tables of the package `policies`, which are its own.
fn project_profiles(name: &str) -> String {
    const PROJECT_MANIFEST: &str = include_str!("../../../Cargo.toml");
    let mut profiles = String::new();
    let mut in_profile = false;
    for line in PROJECT_MANIFEST.lines() {
        if line.starts_with('[') {
            in_profile = line.starts_with("[profile.");
            if in_profile && !profiles.is_empty() {
                profiles.push('\n');
            }
        }
        if in_profile && !line.is_empty() && !line.starts_with('#') {
            match line.strip_suffix(".package.policies]") {
                Some(profile) => profiles.push_str(&format!("{profile}.package.{name}]")),
                None => profiles.push_str(line),
            }
            profiles.push('\n');
        }
    }
    profiles
}

fn lib_rs(plan: &Plan, command: &str) -> String {
    let mut text = header("//!", command);
    let _ = write!(
        text,
        "\n//!\n//! A synthetic platform: {} namespaces, {} workloads, {} flows in {} files.\n\n",
        plan.namespaces.len(),
        plan.workloads.len(),
        plan.flow_count(),
        plan.parts.len()
    );
    for part in &plan.parts {
        let _ = writeln!(text, "pub mod {};", part.module);
    }
    text.push_str("\nuse zero_trust::{Cluster, ClusterError, Policy};\n\n");
    push_parts(&mut text, plan);
    text.push_str(
        "\npub fn cluster() -> Result<Cluster, Vec<ClusterError>> {\n    Cluster::assemble(PARTS)\n}\n",
    );
    text
}

/// `lib.rs` of [`write_policies`]: the items `xtask` reads from the `policies` crate.
fn policies_lib_rs(plan: &Plan, command: &str) -> String {
    let mut text = header("//!", command);
    let _ = write!(
        text,
        "\n//!\n//! A synthetic platform in place of the policies of the guide.\n\n"
    );
    for part in &plan.parts {
        let _ = writeln!(text, "pub mod {};", part.module);
    }
    text.push_str("\nuse zero_trust::{Cluster, ClusterError, ClusterTarget, Policy};\n\n");
    push_parts(&mut text, plan);
    text.push_str(
        "\npub const SOURCE: &str = \"synthetic-platform\";\n\
         pub const CLUSTERS: &[ClusterTarget] = &[];\n\n\
         pub fn cluster() -> Result<Cluster, Vec<ClusterError>> {\n    \
         Cluster::assemble(PARTS)?.with_source(SOURCE)\n}\n\n\
         pub fn clusters() -> Result<Vec<Cluster>, Vec<ClusterError>> {\n    \
         zero_trust::assemble_clusters(PARTS, CLUSTERS, SOURCE)\n}\n",
    );
    text
}

fn push_parts(text: &mut String, plan: &Plan) {
    text.push_str("/// Every block of the platform.\npub const PARTS: &[&Policy] = &[\n");
    for part in &plan.parts {
        let _ = writeln!(text, "    &{}::POLICY,", part.module);
    }
    text.push_str("];\n");
}

fn digest_example(command: &str) -> String {
    let digest = project_root().join("xtask/src/synth/digest.rs");
    format!(
        "{}\n//!\n//! Prints the digest of the cluster, which `cargo xtask bench` compares with the one\n\
         //! of `synthetic_cluster`: the code and the in-memory model are the same cluster.\n\n\
         #[path = {:?}]\nmod digest;\n\nfn main() {{\n    \
         let cluster = synth::cluster().expect(\"the synthetic cluster assembles\");\n    \
         println!(\"{{}}\", digest::cluster_digest(&cluster));\n}}\n",
        header("//!", command),
        digest.display().to_string()
    )
}

fn part_rs(plan: &Plan, part: &Part, command: &str) -> String {
    let mut text = header("//!", command);
    let names: Vec<&str> = part
        .namespaces
        .iter()
        .map(|&n| plan.namespaces[n].ident.as_str())
        .collect();
    let _ = write!(
        text,
        "\n//!\n//! Namespaces {}.\n\nuse zero_trust::zero_trust;\n\nzero_trust! {{\n",
        names.join(", ")
    );
    for (module, idents) in &part.imports {
        let idents: Vec<&str> = idents.iter().map(String::as_str).collect();
        match idents.as_slice() {
            [one] => writeln!(text, "    use crate::{module}::{one};"),
            many => writeln!(text, "    use crate::{module}::{{{}}};", many.join(", ")),
        }
        .expect("writing to a String");
    }
    if !part.imports.is_empty() {
        text.push('\n');
    }
    for &n in &part.namespaces {
        let namespace = &plan.namespaces[n];
        let external = if namespace.managed { "" } else { "external " };
        let _ = writeln!(text, "    {external}namespace {} {{", namespace.ident);
        for (i, &w) in namespace.workloads.iter().enumerate() {
            let workload = &plan.workloads[w];
            text.push_str("        ");
            text.push_str(&workload.ident);
            if let Some(labels) = &workload.labels {
                let labels: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k:?} = {v:?}"))
                    .collect();
                let _ = write!(text, " [{}]", labels.join(", "));
            }
            if !workload.ports.is_empty() {
                let ports: Vec<String> = workload.ports.iter().map(PortRange::to_dsl).collect();
                let _ = write!(text, ": {}", ports.join(", "));
            }
            let last = i + 1 == namespace.workloads.len();
            text.push_str(if last { "\n" } else { ";\n" });
        }
        text.push_str("    }\n");
    }
    for &c in &part.cidrs {
        let cidr = &plan.cidrs[c];
        let _ = write!(text, "    cidr {} = {:?}", cidr.ident, cidr.cidr);
        let except: Vec<String> = cidr.except.iter().map(|e| format!("{e:?}")).collect();
        if !except.is_empty() {
            let _ = write!(text, " except {}", except.join(", "));
        }
        text.push_str(";\n");
    }
    if !part.flows.is_empty() {
        text.push('\n');
    }
    for flow in &part.flows {
        if flow.from == End::AllManaged {
            text.push_str("    // Every managed pod may resolve names.\n");
        }
        let _ = writeln!(text, "    {};", flow.text());
    }
    text.push_str("}\n");
    text
}

fn write_files(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    for (name, text) in files {
        let path = dir.join(name);
        if fs::read_to_string(&path).is_ok_and(|old| old == *text) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Sources an earlier `cargo xtask synth` wrote into `dir/src` that this one does not.
fn remove_stale_sources(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir.join("src")) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = format!("src/{}", entry.file_name().to_string_lossy());
        let generated = fs::read_to_string(entry.path())
            .is_ok_and(|text| text.starts_with("//! Written by `cargo xtask synth"));
        if generated && !files.iter().any(|(wanted, _)| *wanted == name) {
            fs::remove_file(entry.path())
                .map_err(|e| format!("cannot remove {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The synthetic crate's manifest holds the project's profiles, every key of them, the
    /// tables of the package `policies` as its own.
    #[test]
    fn the_synthetic_crate_is_built_with_the_projects_profiles() {
        let profile = |manifest: &str| {
            let table: toml::Table = toml::from_str(manifest).expect("a TOML manifest");
            table["profile"].clone()
        };
        let project = include_str!("../../../Cargo.toml");
        let mut expected = profile(project);
        let packages = expected["dev"]["package"]
            .as_table_mut()
            .expect("package tables");
        let policies = packages.remove("policies").expect("a table for policies");
        packages.insert("synth-test".to_owned(), policies);
        let synthetic = super::manifest("synth-test", "cargo xtask synth");
        assert_eq!(profile(&synthetic), expected);
    }
}
