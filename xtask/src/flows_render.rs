//! Every diagram of the `FLOWS` pages renders in Mermaid: those of the guide's cluster and
//! of a synthetic platform of 1,000 workloads (10,000 in CI, see [`synthetic_size`]), and
//! those `cargo xtask diff` draws of a one-flow change and of a large one (summarized),
//! drawn in a real headless Chromium by the Mermaid of `@mermaid-js/mermaid-cli` (installed in
//! `.ci/node/` by `.ci/run`), on the page mermaid-cli renders on, by
//! `.ci/node/render-diagrams.mjs`: it loads that page once per worker where `mmdc` loads it
//! once per diagram (about 3.5 s of CPU each here, nearly all of it compiling Mermaid's 12 MB
//! of JavaScript again).
//!
//! Without Chromium or mermaid-cli the test prints a note and passes, unless `CI` is set. With
//! `ZT_FLOWS_PAGES=DIR` it also writes the pages there (`guide/`, `synthetic/`, and the
//! diffs) to look at.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use zero_trust::Cluster;
use zero_trust::diff::diff_manifests;
use zero_trust::emit::emit;
use zero_trust::emit::flows_md::{MAX_DIAGRAM_CHARS, MAX_DIAGRAM_EDGES, render_flows_md};
use zero_trust::verify::model_topology;

use crate::synth::{Params, synthetic_cluster};

/// What Mermaid draws in place of a diagram it refuses: `mermaid.render` throws on a syntax
/// error, but draws a diagram over `maxTextSize` as a box saying so.
const RENDER_ERRORS: [&str; 4] = [
    "Maximum text size in diagram exceeded",
    "Syntax error in text",
    "aria-roledescription=\"error\"",
    "Edge limit exceeded",
];
/// Pages of one Chromium rendering side by side, one per core of this machine class.
const WORKERS: usize = 2;

#[test]
fn every_emitted_diagram_renders_in_mermaid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let node_dir = root.join(".ci/node");
    let installed = node_dir.join("node_modules/@mermaid-js/mermaid-cli");
    let chromium = std::env::var_os("ZT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node = Command::new("node").arg("--version").output();
    if !installed.is_dir() || !chromium.is_file() || !node.is_ok_and(|run| run.status.success()) {
        let note = format!(
            "needs node, {} (`npm ci` in .ci/node/) and Chromium at {} (ZT_CHROMIUM), as .ci/run installs them",
            installed.display(),
            chromium.display()
        );
        assert!(std::env::var_os("CI").is_none(), "{note}");
        eprintln!("note: diagrams not rendered: {note}");
        return;
    }

    let started = Instant::now();
    let guide = policies::cluster().expect("the guide's cluster assembles");
    let synthetic = synthetic_cluster(&synthetic_size());
    let mut diagrams = BTreeSet::new();
    let mut pages = 0;
    for (cluster, what) in [(&guide, "guide"), (&synthetic, "synthetic")] {
        for (file, text) in render_flows_md(cluster) {
            pages += 1;
            if let Some(out) = std::env::var_os("ZT_FLOWS_PAGES") {
                let out = Path::new(&out).join(what);
                std::fs::create_dir_all(&out).expect("ZT_FLOWS_PAGES");
                std::fs::write(out.join(&file), &text).expect("ZT_FLOWS_PAGES");
            }
            diagrams.extend(bounded_diagrams(&text, &format!("{what} {file}")));
        }
    }
    for (what, markdown) in diff_markdown(&guide, &synthetic) {
        if let Some(out) = std::env::var_os("ZT_FLOWS_PAGES") {
            let file = format!("diff of {what}.md").replace(' ', "-");
            std::fs::write(Path::new(&out).join(file), &markdown).expect("ZT_FLOWS_PAGES");
        }
        diagrams.extend(bounded_diagrams(&markdown, &format!("the diff of {what}")));
    }
    let built = started.elapsed();

    let mut diagrams: Vec<String> = diagrams.into_iter().collect();
    // Two diagrams Mermaid must refuse, rendered with the others, one for each way it
    // refuses: `mermaid.render` throws on a syntax error, and draws a diagram of twice its
    // `maxTextSize` (50,000 characters) as an error box.
    let controls = [
        (
            "flowchart LR\n  a --> ((( b\n".to_string(),
            "Mermaid refuses it",
        ),
        (
            format!(
                "flowchart LR\n{}",
                (0..6000)
                    .map(|n| format!("  n{n} --> n{}\n", n + 1))
                    .collect::<String>()
            ),
            "Maximum text size in diagram exceeded",
        ),
    ];
    diagrams.extend(controls.iter().map(|(diagram, _)| diagram.clone()));
    let mut failures = render(&node_dir, &chromium, &diagrams);
    let refused = failures.split_off(failures.len() - controls.len());
    for ((_, expected), refusal) in controls.iter().zip(&refused) {
        assert!(
            refusal
                .as_ref()
                .is_some_and(|refusal| refusal.contains(expected)),
            "a control diagram was not refused with `{expected}`: {refusal:?}"
        );
    }
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    eprintln!(
        "{} distinct diagrams of {pages} pages rendered in {:.1} s ({:.1} s to build the clusters and pages)",
        diagrams.len() - controls.len(),
        started.elapsed().as_secs_f64(),
        built.as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The Markdown of `cargo xtask diff` for a one-flow change of the guide's cluster (drawn
/// flow by flow) and for one that drops every tenth flow of the synthetic platform
/// (summarized, as it says).
fn diff_markdown(guide: &Cluster, synthetic: &Cluster) -> Vec<(&'static str, String)> {
    let without_flows = |cluster: &Cluster, every: usize| {
        let mut fewer = cluster.clone();
        let mut index = 0;
        fewer.flows.retain(|_| {
            index += 1;
            index % every != 0
        });
        fewer
    };
    let markdown = |old: &Cluster, new: &Cluster| {
        let files = |cluster: &Cluster| emit(cluster).expect("renders").files;
        diff_manifests(&files(old), &files(new), model_topology(new))
            .expect("diffs")
            .to_markdown()
    };
    let one_flow = markdown(&without_flows(guide, guide.flows.len()), guide);
    assert!(one_flow.contains("| added |"), "{one_flow}");
    let large = markdown(synthetic, &without_flows(synthetic, 10));
    assert!(
        large.contains("The diagram is summarized"),
        "the diff of the synthetic platform is drawn flow by flow"
    );
    vec![("a one-flow change", one_flow), ("a large change", large)]
}

/// The synthetic platform to render: 1,000 workloads (10 summarized pages) in the README's
/// test command, and all 10,000 (100 pages, the same shapes) in a step of `.ci/run` of its own
/// (`ZT_FLOWS_RENDER_WORKLOADS=10000`, 2 min 41 s in a fresh-clone run): rendering takes
/// about 33 s of that, building that platform's pages and its diff in the test profile most
/// of the rest.
fn synthetic_size() -> Params {
    match std::env::var("ZT_FLOWS_RENDER_WORKLOADS").as_deref() {
        Ok("10000") => Params {
            namespaces: 100,
            workloads: 10_000,
            flows: 50_000,
            seed: 1,
        },
        _ => Params {
            namespaces: 10,
            workloads: 1_000,
            flows: 2_000,
            seed: 1,
        },
    }
}

/// Renders `diagrams` in one Chromium; for each, what went wrong, if anything.
fn render(node_dir: &Path, chromium: &Path, diagrams: &[String]) -> Vec<Option<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("diagrams.json");
    std::fs::write(&input, serde_json::to_string(diagrams).expect("JSON")).expect("diagrams");
    let run = Command::new("node")
        .arg(node_dir.join("render-diagrams.mjs"))
        .arg(chromium)
        .arg(&input)
        .arg(WORKERS.to_string())
        .output()
        .expect("node runs");
    if !run.status.success() {
        panic!(
            "render-diagrams.mjs failed ({}):\n{}",
            run.status,
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let rendered: Vec<serde_json::Value> =
        serde_json::from_slice(&run.stdout).expect("its JSON answer");
    assert_eq!(rendered.len(), diagrams.len(), "one answer per diagram");
    diagrams
        .iter()
        .zip(rendered)
        .map(|(diagram, rendered)| {
            if let Some(error) = rendered["error"].as_str() {
                return Some(format!("Mermaid refuses it ({error}):\n{diagram}"));
            }
            let Some(svg) = rendered["svg"].as_str() else {
                return Some(format!("no SVG and no error for:\n{diagram}"));
            };
            RENDER_ERRORS
                .iter()
                .find(|error| svg.contains(**error))
                .map(|error| format!("Mermaid shows `{error}` for:\n{diagram}"))
        })
        .collect()
}

/// The diagrams of a page, each checked to be within the bounds the renderer keeps.
fn bounded_diagrams(page: &str, what: &str) -> Vec<String> {
    let diagrams = mermaid_blocks(page);
    for diagram in &diagrams {
        let edges = diagram.lines().filter(|line| line.contains("-->")).count();
        assert!(
            diagram.len() <= MAX_DIAGRAM_CHARS && edges <= MAX_DIAGRAM_EDGES,
            "{what}: a diagram of {} characters and {edges} edges",
            diagram.len()
        );
    }
    diagrams
}

/// The text of every ```` ```mermaid ```` block of a Markdown page.
fn mermaid_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match &mut current {
            None if line == "```mermaid" => current = Some(String::new()),
            Some(block) if line == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}
