//! The generated `k8s/verify.sh`, run for real against a stand-in cluster: a stand-in
//! `kubectl` (`support/fake-kubectl-probe.sh`) answers pod lookups with fake pods and runs
//! the script's own probe commands, whose `nc` and `nslookup` (the same stand-in) answer
//! from a verdict table that the test computes with the evaluator over the emitted YAML.
//! A cluster that enforces exactly the emitted policies must pass every probe; each way
//! it can differ must fail the probe that shows it.

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::scripts::{Run, assert_exit, assert_shellcheck_passes, write_executable};
use zero_trust::Cluster;
use zero_trust::emit::GENERATED_HEADER;
use zero_trust::emit::emit;
use zero_trust::emit::verify_script::{
    CLOSED_PER_SOURCE, Expect, OUTSIDE, plan_probes, render_verify_script,
};
use zero_trust::eval::{Analysis, ClassId, Inputs, load_str};
use zero_trust::verify::model_topology;
use zero_trust::{PortRange, Protocol};

const FAKE: &str = include_str!("support/fake-kubectl-probe.sh");
/// The private address verify.sh probes for the guide's cluster (in 10.0.0.0/8, excepted).
const PRIVATE_ADDRESS: &str = "10.255.255.1";
/// Where verify.sh creates its pod without labels (`--probe-namespace` by default).
const PROBE_POD: &str = "default/zero-trust-probe-fake";

/// The guide's cluster: 12 declared probes (DNS over UDP and TCP from each of the 4 managed
/// workloads, ingress-nginx -> main-api, main-api -> auth-service and image-service,
/// image-service -> minio) and 2 skipped (main-api -> public_internet on 443 and 80);
/// closed: 3 reversed flows, 6 more pairs of managed workloads, the unlabelled pod to each
/// of the 4, and each of the 4 to the private address.
const GUIDE_SUMMARY: &str = "29 passed, 0 failed, 2 skipped";

/// A pod the stand-in cluster runs for each workload.
struct FakePod {
    namespace: String,
    name: String,
    ip: String,
    selector: String,
    /// The workload's pod in the model's topology.
    class: ClassId,
}

/// A temp dir holding `k8s/verify.sh`, `bin/{kubectl,nc,nslookup}` and the tables.
struct Sandbox {
    dir: tempfile::TempDir,
    pods: Vec<FakePod>,
    verdicts: BTreeMap<(String, String, String), String>,
}

impl Run {
    fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }

    fn lines_starting(&self, status: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|line| line.starts_with(&format!("{status:<4} ")))
            .collect()
    }
}

impl Sandbox {
    /// A stand-in cluster that enforces exactly the YAML emitted for `cluster`.
    fn new(cluster: &Cluster) -> Sandbox {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let files = emit(cluster).expect("renders").files;
        let k8s = dir.path().join("k8s");
        let bin = dir.path().join("bin");
        fs::create_dir(&k8s).unwrap();
        fs::create_dir(&bin).unwrap();
        write_executable(&k8s.join("verify.sh"), &files["verify.sh"]);
        for name in ["kubectl", "nc", "nslookup"] {
            write_executable(&bin.join(name), FAKE);
        }

        let mut inputs = Inputs::default();
        for (name, text) in files.iter().filter(|(name, _)| name.ends_with(".yaml")) {
            load_str(&mut inputs, Path::new(name), text).expect("the emitted YAML loads");
        }
        inputs.topology = model_topology(cluster);
        let analysis = Analysis::new(&inputs).expect("the emitted YAML compiles");

        let mut pods: Vec<FakePod> = cluster
            .workloads
            .values()
            .map(|w| FakePod {
                namespace: w.namespace.name.to_owned(),
                name: format!("{}-0", w.name),
                ip: String::new(),
                selector: w.kubectl_selector(),
                class: analysis
                    .class_of_pod(w.namespace.name, w.name)
                    .expect("a workload's pod"),
            })
            .collect();
        // A namespace declared without workloads (the guide's `prod-database`) runs one
        // pod that no workload selects.
        let without_workloads = cluster
            .namespaces
            .values()
            .filter(|n| !cluster.workloads.keys().any(|(ns, _)| ns == &n.name));
        for namespace in without_workloads {
            pods.push(FakePod {
                namespace: namespace.name.to_owned(),
                name: "pod-0".to_owned(),
                ip: String::new(),
                selector: String::new(),
                class: analysis
                    .class_of_other_pod(namespace.name)
                    .expect("another pod of the namespace"),
            });
        }
        for (i, pod) in pods.iter_mut().enumerate() {
            pod.ip = format!("10.1.0.{}", i + 1);
        }

        // Every port a probe may use: what the workloads listen on, the single ports of
        // flows, and 443 and 80.
        let mut ports: Vec<PortRange> = cluster
            .workloads
            .values()
            .flat_map(|w| w.ports.iter().copied())
            .chain(cluster.flows.iter().flat_map(|f| f.ports.iter().copied()))
            .filter(|p| p.is_single() || cluster.workloads.values().any(|w| w.ports.contains(p)))
            .collect();
        ports.extend([443, 80].map(|port| PortRange::single(Protocol::Tcp, port)));
        ports.sort();
        ports.dedup();

        let address: IpAddr = PRIVATE_ADDRESS.parse().unwrap();
        let mut sources: Vec<(String, ClassId)> = pods
            .iter()
            .map(|p| (format!("{}/{}", p.namespace, p.name), p.class))
            .collect();
        sources.push((
            PROBE_POD.to_owned(),
            analysis.class_of_unnamed_namespace_pod(),
        ));
        let mut destinations: Vec<(String, ClassId)> =
            pods.iter().map(|p| (p.ip.clone(), p.class)).collect();
        destinations.push((address.to_string(), analysis.class_of_address(address)));

        // Open connections alternate between accepting and refusing: both count as open.
        let mut verdicts = BTreeMap::new();
        let mut open = 0;
        for (source, from) in &sources {
            for (ip, to) in &destinations {
                let allowed = analysis.end_to_end(*from, *to);
                for port in &ports {
                    let verdict = if allowed.contains(port.protocol, port.first) {
                        open += 1;
                        if open % 2 == 0 { "refused" } else { "open" }
                    } else {
                        "timeout"
                    };
                    let key = (
                        source.clone(),
                        ip.clone(),
                        format!("{}/{}", port.first, port.protocol.as_dsl()),
                    );
                    verdicts.insert(key, verdict.to_owned());
                }
            }
        }
        Sandbox {
            dir,
            pods,
            verdicts,
        }
    }

    fn ip_of(&self, pod: &str) -> String {
        let pod = self
            .pods
            .iter()
            .find(|p| format!("{}/{}", p.namespace, p.name) == pod)
            .unwrap_or_else(|| panic!("no fake pod {pod}"));
        pod.ip.clone()
    }

    /// Makes the cluster answer differently from the policies for one probe.
    fn set_verdict(&mut self, source: &str, destination: &str, port: &str, verdict: &str) {
        let key = (source.to_owned(), destination.to_owned(), port.to_owned());
        assert!(self.verdicts.contains_key(&key), "no verdict {key:?}");
        self.verdicts.insert(key, verdict.to_owned());
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_failing(args, None)
    }

    /// Runs `k8s/verify.sh ARGS`; kubectl calls containing `fail_on` fail.
    fn run_failing(&self, args: &[&str], fail_on: Option<&str>) -> Run {
        let root = self.dir.path();
        let pods: String = self
            .pods
            .iter()
            .map(|p| format!("{} {} {} {}\n", p.namespace, p.name, p.ip, p.selector))
            .collect();
        fs::write(root.join("pods"), pods).unwrap();
        let verdicts: String = self
            .verdicts
            .iter()
            .map(|((source, ip, port), verdict)| format!("{source} {ip} {port} {verdict}\n"))
            .collect();
        fs::write(root.join("verdicts"), verdicts).unwrap();
        let log = root.join("kubectl.log");
        let _ = fs::remove_file(&log);

        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut search_path = vec![root.join("bin")];
        search_path.extend(std::env::split_paths(&path));
        let mut command = Command::new(root.join("k8s/verify.sh"));
        command
            .args(args)
            .current_dir(root)
            .env("PATH", std::env::join_paths(search_path).unwrap())
            .env("FAKE_KUBECTL_LOG", &log)
            .env("FAKE_PODS", root.join("pods"))
            .env("FAKE_VERDICTS", root.join("verdicts"))
            .env_remove("FAKE_KUBECTL_FAIL_ON");
        if let Some(pattern) = fail_on {
            command.env("FAKE_KUBECTL_FAIL_ON", pattern);
        }
        let output = command.output().expect("run verify.sh");
        Run::recorded(output, &log)
    }

    fn created_pod(&self) -> PathBuf {
        self.dir.path().join("kubectl.log.created")
    }
}

/// The guide's cluster without its Advanced Configurations (`policies/src/advanced.rs`),
/// whose probes the counts of these tests leave out.
fn guide() -> Cluster {
    let basic: Vec<_> = policies::PARTS
        .iter()
        .copied()
        .filter(|part| part.file != policies::advanced::POLICY.file)
        .collect();
    Cluster::assemble(&basic).expect("the guide's cluster assembles")
}

/// The whole guide's cluster: also `shop`, whose `any` flows are probed at their first
/// TCP port, and `prod-database`, declared without workloads, probed at any pod of it;
/// the flow from the monitoring namespaces, selected by labels, is skipped with why.
#[test]
fn the_whole_guides_cluster_passes_every_probe() {
    let cluster = policies::cluster().expect("the guide's cluster assembles");
    let run = Sandbox::new(&cluster).run(&["--context", "staging"]);
    assert_eq!(
        run.last_line(),
        "62 passed, 0 failed, 8 skipped",
        "{run:#?}"
    );
}

#[test]
fn script_starts_with_shebang_and_generated_header_and_is_deterministic() {
    let script = render_verify_script(&guide());
    let mut lines = script.lines();
    assert_eq!(lines.next(), Some("#!/usr/bin/env bash"));
    assert_eq!(lines.next(), Some(format!("# {GENERATED_HEADER}").as_str()));
    assert_eq!(script, render_verify_script(&guide()));
}

#[test]
fn a_cluster_that_enforces_the_policies_passes_every_probe() {
    let mut sandbox = Sandbox::new(&guide());
    // A DNS server that answers NXDOMAIN answers all the same: open.
    let dns = sandbox.ip_of("kube-system/kube-dns-0");
    sandbox.set_verdict("prod-storage/minio-0", &dns, "53/udp", "refused");
    let run = sandbox.run(&["--context", "staging", "--timeout", "5"]);
    assert_exit(&run, 0);
    assert_eq!(run.last_line(), GUIDE_SUMMARY, "{run:#?}");
    assert!(run.lines_starting("FAIL").is_empty(), "{run:#?}");
    for line in [
        "ok   prod-api/main-api -> prod-auth/auth-service:8080/tcp expected open, observed ",
        "ok   prod-api/main-api -> kube-system/kube-dns:53/udp expected open, observed open (declared: * -> kube_dns:53/udp, 53/tcp)",
        "ok   ingress-nginx/controller -> prod-api/main-api:3000/tcp expected open, observed ",
        "ok   prod-auth/auth-service -> prod-api/main-api:3000/tcp expected closed, observed timeout (reverse of main_api -> auth_service:8080)",
        "ok   prod-auth/auth-service -> prod-image/image-service:5000/tcp expected closed, observed timeout (not declared)",
        "ok   default/<new unlabelled pod> -> prod-auth/auth-service:8080/tcp expected closed, observed timeout",
        "ok   prod-api/main-api -> 10.255.255.1:443/tcp expected closed, observed timeout (a private address, excepted from public_internet)",
        "skip prod-api/main-api -> public_internet:443/tcp expected open: skipped, the destination is the CIDR public_internet",
    ] {
        assert!(run.stdout.contains(line), "no `{line}` in {run:#?}");
    }
    // "Connection refused" (and a DNS NXDOMAIN) means the packet got through: open.
    assert!(run.stdout.contains("observed refused"), "{run:#?}");

    // One ephemeral container per source pod, one pod without labels, deleted at the end.
    let debugs: Vec<&String> = run.calls.iter().filter(|c| c.contains(" debug ")).collect();
    assert_eq!(debugs.len(), 5, "{run:#?}");
    assert!(
        debugs[0].starts_with(
            "--context staging debug main-api-0 -n prod-api --image=busybox:1.36 --profile=general -q --attach -- sh -c SCRIPT sh 5 "
        ),
        "{run:#?}"
    );
    let exec = run
        .calls
        .iter()
        .filter(|c| c.contains(" exec -n default zero-trust-probe-fake -- sh -c SCRIPT"));
    assert_eq!(exec.count(), 1, "{run:#?}");
    assert_eq!(
        run.calls.last().map(String::as_str),
        Some("--context staging delete -n default pod/zero-trust-probe-fake --wait=false")
    );
    let manifest = fs::read_to_string(sandbox.created_pod()).expect("the probe pod was created");
    assert!(!manifest.contains("labels"), "{manifest}");
    assert!(
        manifest.contains("generateName: zero-trust-probe-"),
        "{manifest}"
    );
    assert!(
        run.calls
            .iter()
            .all(|c| c.starts_with("--context staging ")),
        "{run:#?}"
    );
}

#[test]
fn a_declared_flow_that_is_blocked_fails_naming_the_probe() {
    let mut sandbox = Sandbox::new(&guide());
    let auth = sandbox.ip_of("prod-auth/auth-service-0");
    sandbox.set_verdict("prod-api/main-api-0", &auth, "8080/tcp", "timeout");
    let run = sandbox.run(&["--context", "staging"]);
    assert_exit(&run, 1);
    let fails = run.lines_starting("FAIL");
    assert_eq!(fails.len(), 1, "{run:#?}");
    assert!(
        fails[0].starts_with(
            "FAIL prod-api/main-api -> prod-auth/auth-service:8080/tcp expected open, observed timeout (declared: main_api -> auth_service:8080); from pod prod-api/main-api-0 to 10.1.0."
        ),
        "{run:#?}"
    );
    assert_eq!(
        run.last_line(),
        "28 passed, 1 failed, 2 skipped",
        "{run:#?}"
    );
}

#[test]
fn a_connection_that_must_be_blocked_fails_when_it_gets_through() {
    let mut sandbox = Sandbox::new(&guide());
    let image = sandbox.ip_of("prod-image/image-service-0");
    sandbox.set_verdict("prod-auth/auth-service-0", &image, "5000/tcp", "open");
    // Refused is open too: the packet reached the pod.
    sandbox.set_verdict(
        PROBE_POD,
        &sandbox.ip_of("prod-storage/minio-0"),
        "9000/tcp",
        "refused",
    );
    sandbox.set_verdict("prod-api/main-api-0", PRIVATE_ADDRESS, "443/tcp", "open");
    let run = sandbox.run(&["--context", "staging"]);
    assert_exit(&run, 1);
    let fails = run.lines_starting("FAIL");
    for line in [
        "FAIL prod-auth/auth-service -> prod-image/image-service:5000/tcp expected closed, observed open (not declared)",
        "FAIL default/<new unlabelled pod> -> prod-storage/minio:9000/tcp expected closed, observed refused",
        "FAIL prod-api/main-api -> 10.255.255.1:443/tcp expected closed, observed open",
    ] {
        assert!(
            fails.iter().any(|f| f.starts_with(line)),
            "no `{line}` in {run:#?}"
        );
    }
    assert_eq!(fails.len(), 3, "{run:#?}");
    assert_eq!(
        run.last_line(),
        "26 passed, 3 failed, 2 skipped",
        "{run:#?}"
    );
}

#[test]
fn an_answer_that_is_neither_open_nor_a_timeout_fails_and_is_never_taken_for_blocked() {
    let mut sandbox = Sandbox::new(&guide());
    let main_api = sandbox.ip_of("prod-api/main-api-0");
    sandbox.set_verdict(
        "prod-auth/auth-service-0",
        &main_api,
        "3000/tcp",
        "unreachable",
    );
    let run = sandbox.run(&["--context", "staging"]);
    assert_exit(&run, 1);
    let fails = run.lines_starting("FAIL");
    assert_eq!(fails.len(), 1, "{run:#?}");
    assert!(
        fails[0].starts_with(
            "FAIL prod-auth/auth-service -> prod-api/main-api:3000/tcp expected closed: the probe neither connected nor timed out (nc: can't connect to remote host (10.1.0.3): No route to host)"
        ),
        "{run:#?}"
    );
}

#[test]
fn a_workload_without_a_running_pod_fails_each_of_its_probes_clearly() {
    let mut sandbox = Sandbox::new(&guide());
    sandbox.pods.retain(|p| p.name != "minio-0");
    let run = sandbox.run(&["--context", "staging"]);
    assert_exit(&run, 1);
    let fails = run.lines_starting("FAIL");
    let message = "no running pod of prod-storage/minio (selector app=minio); start one or fix its labels, then run again";
    assert!(fails.iter().all(|f| f.ends_with(message)), "{run:#?}");
    // Everything from or to minio: 2 DNS, from image-service, the reversed flow, 4 more
    // pairs, from the unlabelled pod and to the private address.
    assert_eq!(fails.len(), 10, "{run:#?}");
    assert!(
        fails.contains(&format!("FAIL prod-image/image-service -> prod-storage/minio:9000/tcp expected open: {message}").as_str()),
        "{run:#?}"
    );
    assert_eq!(
        run.last_line(),
        "19 passed, 10 failed, 2 skipped",
        "{run:#?}"
    );
}

#[test]
fn a_probe_that_cannot_run_fails_with_kubectls_error() {
    let sandbox = Sandbox::new(&guide());
    let run = sandbox.run_failing(&["--context", "staging"], Some("debug minio-0"));
    assert_exit(&run, 1);
    let fails = run.lines_starting("FAIL");
    assert_eq!(fails.len(), 6, "minio's probes: {run:#?}");
    assert!(
        fails.iter().all(|f| f.contains(
            "no answer from the probe in pod prod-storage/minio-0: `kubectl debug` failed: error: fake kubectl told to fail"
        )),
        "{run:#?}"
    );
}

#[test]
fn no_context_and_bad_options_are_usage_errors_before_any_kubectl_call() {
    let sandbox = Sandbox::new(&guide());
    for (args, message) in [
        (&[][..], "no `--context` given"),
        (&["--timeout", "3"][..], "no `--context` given"),
        (
            &["--context"][..],
            "`--context` needs a kubectl context name",
        ),
        (
            &["--context="][..],
            "`--context` needs a kubectl context name",
        ),
        (
            &["--context", "--timeout"][..],
            "`--context` needs a kubectl context name, not `--timeout`",
        ),
        (
            &["--context", "a", "--timeout", "0"][..],
            "`--timeout` needs a whole number of seconds",
        ),
        (
            &["--context", "a", "--timeout=3s"][..],
            "`--timeout` needs a whole number of seconds",
        ),
        (
            &["--context", "a", "--probe-namespace", "prod-api"][..],
            "the policies name `prod-api`",
        ),
        (
            &["--context", "a", "--probe-namespace=kube-system"][..],
            "the policies name `kube-system`",
        ),
        (&["--context", "a", "extra"][..], "unknown option `extra`"),
        // Pasted into the probe pod's YAML: checked before use.
        (
            &["--context", "a", "--probe-namespace", "Probes"][..],
            "`--probe-namespace` needs a namespace name",
        ),
        (
            &[
                "--context",
                "a",
                "--probe-namespace",
                "p\"\n  labels: {x: y}",
            ][..],
            "`--probe-namespace` needs a namespace name",
        ),
        (
            &[
                "--context",
                "a",
                "--image",
                "busybox\"\n      command: [sh]",
            ][..],
            "`--image` needs an image reference",
        ),
        (
            &["--context", "a", "--image=busybox:1.36 sh"][..],
            "`--image` needs an image reference",
        ),
        (
            &["--context", "a", "--image", "Busybox"][..],
            "`--image` needs an image reference",
        ),
    ] {
        let run = sandbox.run(args);
        assert_exit(&run, 2);
        assert!(run.calls.is_empty(), "{run:#?}");
        assert!(run.stderr.contains(message), "no `{message}` in {run:#?}");
        assert!(run.stderr.contains("Usage:"), "{run:#?}");
    }
    let run = sandbox.run(&["-h"]);
    assert_exit(&run, 0);
    assert!(
        run.stdout.contains("--probe-namespace NAMESPACE"),
        "{run:#?}"
    );
    assert!(run.calls.is_empty(), "{run:#?}");
}

#[test]
fn the_probe_namespace_can_be_chosen() {
    let sandbox = Sandbox::new(&guide());
    let image = "registry.example.com:5000/tools/busy_box:1.36@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let run = sandbox.run(&[
        "--context",
        "staging",
        "--probe-namespace",
        "probes",
        "--image",
        image,
    ]);
    // The verdict table knows the probe pod in `default` only.
    assert_exit(&run, 1);
    assert!(
        run.calls
            .iter()
            .any(|c| c.contains(&format!("--image={image}"))),
        "a well-formed reference is used as given: {run:#?}"
    );
    assert!(
        run.calls
            .iter()
            .any(|c| c == "--context staging create -n probes -o name -f -"),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains("probes/<new unlabelled pod> -> prod-api/main-api:3000/tcp"),
        "{run:#?}"
    );
}

mod udp {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace shop { web: 8080; metrics: 8125/udp }
        web -> metrics:8125/udp;
    }
}

#[test]
fn udp_other_than_dns_is_skipped_and_counted() {
    let cluster = Cluster::assemble(&[&udp::POLICY]).expect("assembles");
    let sandbox = Sandbox::new(&cluster);
    let run = sandbox.run(&["--context", "staging"]);
    assert_exit(&run, 0);
    assert!(
        run.stdout.contains(
            "skip shop/web -> shop/metrics:8125/udp expected open: skipped, UDP other than DNS: without a reply, open cannot be told from filtered"
        ),
        "{run:#?}"
    );
    // metrics -> web reversed, the unlabelled pod -> web, both to the private address;
    // nothing probes metrics' UDP port as closed.
    assert_eq!(run.last_line(), "4 passed, 0 failed, 1 skipped", "{run:#?}");
}

mod many {
    use zero_trust::zero_trust;
    zero_trust! {
        namespace big { a: 80; b: 80; c: 80; d: 80; e: 80; f: 80; g: 80; h: 80 }
        a -> b:80;
    }
}

#[test]
fn closed_probes_between_workloads_are_capped_per_source_and_spread() {
    let cluster = Cluster::assemble(&[&many::POLICY]).expect("assembles");
    let plan = plan_probes(&cluster);
    let mut from: BTreeMap<&str, usize> = BTreeMap::new();
    let mut to: BTreeMap<&str, usize> = BTreeMap::new();
    let mut pairs = std::collections::BTreeSet::new();
    for probe in plan.probes.iter().filter(|p| p.expect == Expect::Closed) {
        assert!(
            pairs.insert((&probe.source, &probe.destination)),
            "one closed probe per pair: {probe:?}"
        );
        if probe.why == "not declared" {
            *from.entry(&probe.source).or_default() += 1;
            *to.entry(&probe.destination).or_default() += 1;
        }
    }
    // Each of the 8 may not reach 6 or 7 others, of which it probes the next 5 in order
    // (a skips b, which it may reach), so each is a destination 4 to 6 times.
    assert_eq!(from.len(), 8, "{from:?}");
    assert!(from.values().all(|&n| n == CLOSED_PER_SOURCE), "{from:?}");
    assert!(to.values().all(|&n| (4..=6).contains(&n)), "{to:?}");
    assert_eq!(
        plan.probes.iter().filter(|p| p.source == OUTSIDE).count(),
        8,
        "the unlabelled pod probes every managed workload"
    );
    let sandbox = Sandbox::new(&cluster);
    let run = sandbox.run(&["--context", "c"]);
    assert_exit(&run, 0);
}

/// CI installs shellcheck (Debian package `shellcheck`); elsewhere a missing one is a note.
#[test]
fn rendered_script_and_stand_in_pass_shellcheck() {
    let sandbox = Sandbox::new(&guide());
    assert_shellcheck_passes(&[
        sandbox.dir.path().join("k8s/verify.sh"),
        sandbox.dir.path().join("bin/kubectl"),
    ]);
}
