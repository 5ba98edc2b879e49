//! Every diagram of the `FLOWS` pages renders in Mermaid: those of the guide's cluster and
//! of a synthetic platform of 1,000 workloads (10,000 in CI, see [`synthetic_size`]), and
//! those `cargo xtask diff` draws of a one-flow change and of a large one (summarized),
//! drawn by `@mermaid-js/mermaid-cli` (`mmdc`, installed in `.ci/node/` by `.ci/run`) in a
//! real headless Chromium.
//!
//! Without Chromium or `mmdc` the test prints a note and passes, unless `CI` is set. With
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

/// What Mermaid draws in place of a diagram it refuses: mmdc exits 1 on a syntax error but
/// 0 on a diagram over `maxTextSize`, which it replaces by a box saying so.
const RENDER_ERRORS: [&str; 4] = [
    "Maximum text size in diagram exceeded",
    "Syntax error in text",
    "aria-roledescription=\"error\"",
    "Edge limit exceeded",
];
/// `mmdc` processes run side by side, each with its own Chromium.
const BATCHES: usize = 2;

#[test]
fn every_emitted_diagram_renders_in_mermaid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mmdc = root.join(".ci/node/node_modules/.bin/mmdc");
    let chromium = std::env::var_os("ZT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !mmdc.is_file() || !chromium.is_file() {
        let note = format!(
            "needs {} (`npm ci` in .ci/node/) and Chromium at {} (ZT_CHROMIUM), as .ci/run installs them",
            mmdc.display(),
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

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("puppeteer.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"executablePath":{:?},"protocolTimeout":600000,"args":["--no-sandbox","--headless","--disable-gpu","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run"]}}"#,
            chromium.display().to_string()
        ),
    )
    .expect("puppeteer config");
    let diagrams: Vec<String> = diagrams.into_iter().collect();
    let batch_size = diagrams.len().div_ceil(BATCHES);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let batches: Vec<_> = diagrams
            .chunks(batch_size)
            .enumerate()
            .map(|(batch, chunk)| {
                let (dir, mmdc, config) = (dir.path(), &mmdc, &config);
                scope.spawn(move || render_batch(mmdc, config, dir, batch, chunk))
            })
            .collect();
        batches
            .into_iter()
            .flat_map(|batch| batch.join().expect("batch thread"))
            .collect()
    });
    eprintln!(
        "{} distinct diagrams of {pages} pages rendered in {:.1} s ({:.1} s to build the clusters and pages)",
        diagrams.len(),
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

/// The synthetic platform to render. Mermaid lays out a summarized page of the 10,000-workload
/// platform in about 5 s of one core, 100 pages in about 4.5 minutes here: too long for the
/// README's test command, so that renders 1,000 workloads (10 pages, the same summarized
/// shapes), and `.ci/run` renders all 10,000 in a step of its own
/// (`ZT_FLOWS_RENDER_WORKLOADS=10000`).
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

/// Renders `diagrams` with one `mmdc` (one Chromium) and returns what went wrong.
fn render_batch(
    mmdc: &Path,
    config: &Path,
    dir: &Path,
    batch: usize,
    diagrams: &[String],
) -> Vec<String> {
    let input = dir.join(format!("batch{batch}.md"));
    let text: String = diagrams
        .iter()
        .map(|diagram| format!("```mermaid\n{diagram}```\n\n"))
        .collect();
    std::fs::write(&input, text).expect("batch");
    let output = dir.join(format!("out{batch}.md"));
    // Chromium on a loaded machine can miss puppeteer's timeouts (30 s to open the page):
    // a timeout is retried, a render error is not.
    let mut attempts = 0;
    let run = loop {
        attempts += 1;
        let run = Command::new(mmdc)
            .args(["--quiet", "--outputFormat", "svg", "--puppeteerConfigFile"])
            .arg(config)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&output)
            .output()
            .expect("mmdc runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        let timed_out = stderr.contains("TimeoutError") || stderr.contains("timed out");
        if run.status.success() || !timed_out || attempts == 3 {
            break run;
        }
        eprintln!("note: mmdc timed out on batch {batch} (attempt {attempts}); again");
    };
    if !run.status.success() {
        return vec![format!(
            "mmdc failed ({}) on {}:\n{}",
            run.status,
            input.display(),
            String::from_utf8_lossy(&run.stderr)
        )];
    }
    // mmdc writes the n-th diagram of `outB.md` as `outB-n.svg`.
    let mut failures = Vec::new();
    for (n, diagram) in diagrams.iter().enumerate() {
        let svg = dir.join(format!("out{batch}-{}.svg", n + 1));
        match std::fs::read_to_string(&svg) {
            Ok(svg) => {
                if let Some(error) = RENDER_ERRORS.iter().find(|error| svg.contains(**error)) {
                    failures.push(format!("Mermaid shows `{error}` for:\n{diagram}"));
                }
            }
            Err(e) => failures.push(format!("no {}: {e}; for:\n{diagram}", svg.display())),
        }
    }
    failures
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
