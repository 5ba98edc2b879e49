//! A real kube-apiserver 1.20 with its own etcd on loopback, for the rollout tests: start,
//! kubeconfigs (admin and `deployer` per cluster), kubectl as admin, namespaces, the
//! deployer's Role, and the audit log read back as events.
//!
//! Nothing runs pods and no controller-manager runs, so namespaces never finish deleting:
//! each test starts its own server rather than cleaning one up.

use std::fmt::Write as _;
use std::fs;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where `.ci/kube-apiserver.sh` installs the binary; `ZT_KUBE_APISERVER` overrides it.
pub const DEFAULT_APISERVER: &str = "/var/cache/zero-trust/kube-apiserver-1.20.2";

const ADMIN_TOKEN: &str = "zt-admin-token";
const DEPLOYER_TOKEN: &str = "zt-deployer-token";

/// The user the rollout runs as; only what `grant_deployer` gives it.
pub const DEPLOYER: &str = "deployer";

/// How long a server may take to answer `/readyz` (11-18 s measured on a 2-core machine
/// busy with other builds; the margin is for a busier one).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Every request the harness itself makes is bounded, so a wedged server fails the test
/// instead of hanging it.
const REQUEST_TIMEOUT: &str = "--request-timeout=20s";

/// Logs every request (RequestReceived is omitted: one event per request is enough, and
/// counting writes would otherwise see each twice). Dry-run requests are logged like any
/// other, with `dryRun=All` in their `requestURI`.
const AUDIT_POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
";

/// The outcome of one kubectl run.
#[derive(Debug)]
pub struct Kubectl {
    pub status: ExitStatus,
    pub stdout: String,
    /// Shown, through `Debug`, in the messages of failed requests.
    #[allow(dead_code)]
    pub stderr: String,
}

impl Kubectl {
    /// Runs `command` (a kubectl with its environment and arguments set), without stdin.
    fn run(command: &mut Command) -> Kubectl {
        let output = command
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl (is it on PATH?)");
        Kubectl {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// One request from the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub verb: String,
    /// Empty for non-resource requests such as `/version`.
    pub resource: String,
    pub namespace: String,
    pub name: String,
    /// The request carried `dryRun=All`: the server checked it but stored nothing.
    pub dry_run: bool,
    pub user: String,
    /// The HTTP status the server answered with.
    pub code: u16,
    pub request_uri: String,
}

/// A running kube-apiserver and its etcd; both are killed, and their files removed, on drop.
pub struct ApiServer {
    etcd: Option<Child>,
    apiserver: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    started_in: Duration,
    /// Numbers the marks `audit_events` requests to know the log has caught up.
    audit_marks: AtomicU64,
}

impl ApiServer {
    /// Starts etcd and kube-apiserver on free loopback ports and waits until the server is
    /// ready. `None` (after a note on stderr) when the binaries are missing outside CI; in
    /// CI (`CI` set) a missing binary is a failure.
    pub fn start() -> Option<ApiServer> {
        let (apiserver, etcd) = binaries()?;
        // A free port can be taken by someone else between our probe and the server's
        // bind; that shows up as an early exit mentioning the address, and a retry with
        // fresh ports is the fix.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match ApiServer::start_with(&apiserver, &etcd) {
                Ok(server) => return Some(server),
                Err(lost_port) if attempts < 3 => {
                    eprintln!("note: retrying the server start with fresh ports: {lost_port}")
                }
                Err(lost_port) => {
                    panic!("could not start a server after {attempts} attempts: {lost_port}")
                }
            }
        }
    }

    /// Err only when a port was taken under us; every other failure panics.
    fn start_with(apiserver: &Path, etcd: &Path) -> Result<ApiServer, String> {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("zt-apiserver-")
            .tempdir()
            .expect("create the server's temp dir");
        let [etcd_port, peer_port, port] = free_ports();
        let mut server = ApiServer {
            etcd: None,
            apiserver: None,
            port,
            dir,
            started_in: Duration::ZERO,
            audit_marks: AtomicU64::new(0),
        };
        server.write_files();

        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        server.etcd = Some(spawn_logged(
            Command::new(etcd).args([
                "--name=zt",
                &format!("--data-dir={}", server.path("etcd").display()),
                &format!("--listen-client-urls={etcd_url}"),
                &format!("--advertise-client-urls={etcd_url}"),
                &format!("--listen-peer-urls={peer_url}"),
                // Without these two etcd checks its default peer URL (localhost:2380),
                // which a second server, or anything else on the machine, may hold.
                &format!("--initial-advertise-peer-urls={peer_url}"),
                &format!("--initial-cluster=zt={peer_url}"),
            ]),
            &server.path("etcd.log"),
        ));
        // kube-apiserver gives up if etcd stays unreachable, so start it once etcd listens.
        server.wait_for_port(etcd_port, Process::Etcd)?;

        let key = server.path("sa.key");
        let dir_arg = |flag: &str, name: &str| format!("--{flag}={}", server.path(name).display());
        server.apiserver = Some(spawn_logged(
            Command::new(apiserver).args([
                &format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1",
                &format!("--secure-port={port}"),
                // With no certificate given it self-signs into --cert-dir.
                &dir_arg("cert-dir", "certs"),
                &dir_arg("token-auth-file", "tokens.csv"),
                // A wrong token then fails loudly (401) instead of acting as anonymous.
                "--anonymous-auth=false",
                "--authorization-mode=RBAC",
                // 1.20 requires all three; one RSA key serves as both halves.
                "--service-account-issuer=https://kubernetes.default.svc",
                &format!("--service-account-key-file={}", key.display()),
                &format!("--service-account-signing-key-file={}", key.display()),
                "--service-cluster-ip-range=10.96.0.0/16",
                &dir_arg("audit-policy-file", "audit-policy.yaml"),
                &dir_arg("audit-log-path", "audit.log"),
                // Blocking (the default, said here because `audit_events` relies on it):
                // an event is on disk by the time its request's handler is done.
                "--audit-log-mode=blocking",
                // The endpoint reconciler would publish the advertise address (loopback,
                // which Endpoints reject) for the `kubernetes` Service, every 10 s.
                "--endpoint-reconciler-type=none",
                "--advertise-address=127.0.0.1",
            ]),
            &server.path("apiserver.log"),
        ));
        server.wait_for_port(port, Process::ApiServer)?;
        server.wait_until_ready();
        server.started_in = started.elapsed();
        eprintln!(
            "kube-apiserver on 127.0.0.1:{port} ready after {:.1} s",
            server.started_in.as_secs_f64()
        );
        Ok(server)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_files(&self) {
        fs::write(
            self.path("tokens.csv"),
            format!(
                "{ADMIN_TOKEN},admin,admin,system:masters\n{DEPLOYER_TOKEN},{DEPLOYER},{DEPLOYER}\n"
            ),
        )
        .expect("write the token file");
        fs::write(self.path("audit-policy.yaml"), AUDIT_POLICY).expect("write the audit policy");
        let genrsa = Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(self.path("sa.key"))
            .arg("2048")
            .output()
            .expect("run openssl genrsa (is openssl on PATH?)");
        assert!(
            genrsa.status.success(),
            "openssl genrsa failed: {}",
            String::from_utf8_lossy(&genrsa.stderr)
        );
        // The harness's own kubeconfig, also how kubectl_as picks its user.
        fs::write(self.path("kubeconfig"), kubeconfig_yaml(&[("", self)]))
            .expect("write the server's kubeconfig");
    }

    /// Polls until `port` accepts connections. Err if the process died of a taken port.
    fn wait_for_port(&mut self, port: u16, process: Process) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            let child = match process {
                Process::Etcd => self.etcd.as_mut(),
                Process::ApiServer => self.apiserver.as_mut(),
            };
            if let Some(status) = child.and_then(|c| c.try_wait().expect("poll a server process")) {
                let log = fs::read_to_string(self.path(process.log())).unwrap_or_default();
                if log.contains("address already in use") {
                    return Err(format!("{} could not bind its ports", process.name()));
                }
                panic!(
                    "{} exited ({status}) before listening on {port}\n{}",
                    process.name(),
                    self.log_tail()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not listen on {port} within {READY_TIMEOUT:?}\n{}",
                    process.name(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `/readyz` as admin: listening is not ready (RBAC's bootstrap roles, among
    /// others, come a few seconds later).
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let readyz = self.kubectl(&["get", "--raw", "/readyz"]);
            if readyz.success() && readyz.stdout.trim() == "ok" {
                return;
            }
            if let Some(status) = self.apiserver.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "kube-apiserver exited ({status}) before it was ready\n{}",
                    self.log_tail()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "kube-apiserver was not ready within {READY_TIMEOUT:?}; last /readyz: {readyz:#?}\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The last lines of both logs, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut tail = String::new();
        for process in [Process::ApiServer, Process::Etcd] {
            let log = fs::read_to_string(self.path(process.log())).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let from = lines.len().saturating_sub(25);
            let _ = writeln!(tail, "--- last lines of the {} log ---", process.name());
            for line in &lines[from..] {
                let _ = writeln!(tail, "{line}");
            }
        }
        tail
    }

    /// kubectl as admin against this server.
    /// kubectl as the admin of this server.
    pub fn kubectl(&self, args: &[&str]) -> Kubectl {
        Kubectl::run(
            Command::new("kubectl")
                .env("KUBECONFIG", self.path("kubeconfig"))
                .env("KUBECACHEDIR", self.path("kube-cache"))
                .args(["--context", "admin", REQUEST_TIMEOUT])
                .args(args),
        )
    }

    /// Runs kubectl as admin and panics, with the server's log tail, if it fails.
    #[track_caller]
    pub fn kubectl_ok(&self, args: &[&str]) -> Kubectl {
        let run = self.kubectl(args);
        assert!(
            run.success(),
            "kubectl {args:?} failed: {run:#?}\n{}",
            self.log_tail()
        );
        run
    }

    /// Creates namespace `name`, with the `kubernetes.io/metadata.name` label clusters
    /// from 1.21 on set by themselves, or without it (as 1.20 leaves it).
    #[track_caller]
    pub fn create_namespace(&self, name: &str, labeled: bool) {
        let labels = if labeled {
            format!("\n  labels:\n    kubernetes.io/metadata.name: {name}")
        } else {
            String::new()
        };
        self.apply(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}{labels}\n"
        ));
    }

    /// Lets `deployer` manage NetworkPolicies in each of `namespaces`, and get those
    /// namespace objects themselves (a RoleBinding in X grants `get` on namespace X).
    #[track_caller]
    pub fn grant_deployer(&self, namespaces: &[&str]) {
        for namespace in namespaces {
            self.apply(&format!(
                "\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: zero-trust-deployer
  namespace: {namespace}
rules:
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [\"\"]
  resources: [namespaces]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: zero-trust-deployer
  namespace: {namespace}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: zero-trust-deployer
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: {DEPLOYER}
"
            ));
        }
    }

    /// `kubectl apply` of `yaml` as admin.
    #[track_caller]
    pub fn apply(&self, yaml: &str) {
        let file =
            tempfile::NamedTempFile::new_in(self.dir.path()).expect("create a manifest file");
        fs::write(file.path(), yaml).expect("write a manifest");
        self.kubectl_ok(&["apply", "-f", &file.path().display().to_string()]);
    }

    /// Every request so far, in the order the server finished them, the harness's own
    /// included. Waits for the log to catch up first: an event is written after its
    /// response is sent, so a kubectl that just returned may not be in the log yet.
    pub fn audit_events(&self) -> Vec<AuditEvent> {
        let mark = self.audit_marks.fetch_add(1, Ordering::Relaxed);
        let mark_param = format!("zt-audit-mark={mark}");
        self.kubectl_ok(&["get", "--raw", &format!("/version?{mark_param}")]);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.read_audit_log();
            // kubectl adds its own parameters (`timeout=20s`) to the query.
            if events
                .iter()
                .any(|e| query_params(&e.request_uri).any(|p| p == mark_param))
            {
                return events;
            }
            if Instant::now() > deadline {
                let log = fs::read_to_string(self.path("audit.log")).unwrap_or_default();
                let last: Vec<&str> = log.lines().rev().take(3).collect();
                panic!(
                    "the audit log never showed the request /version?{mark_param}; its last lines, newest first: {last:#?}\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The requests that write NetworkPolicies (create, update, patch, delete, dry-run
    /// or not, allowed or not), in order.
    pub fn networkpolicy_writes(&self) -> Vec<AuditEvent> {
        self.audit_events()
            .into_iter()
            .filter(|e| e.resource == "networkpolicies")
            .filter(|e| ["create", "update", "patch", "delete"].contains(&e.verb.as_str()))
            .collect()
    }

    fn read_audit_log(&self) -> Vec<AuditEvent> {
        let log = match fs::read_to_string(self.path("audit.log")) {
            Ok(log) => log,
            Err(error) if error.kind() == ErrorKind::NotFound => return Vec::new(),
            Err(error) => panic!("read the audit log: {error}"),
        };
        // A line still being written has no newline yet; it is read next time.
        let complete = &log[..log.rfind('\n').map_or(0, |end| end + 1)];
        complete
            .lines()
            .map(|line| {
                let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|error| {
                    panic!("an audit log line is not JSON ({error}): {line}")
                });
                parse_event(&event)
            })
            .collect()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        // The server first, so it does not log etcd's disappearance on the way out.
        for child in [self.apiserver.as_mut(), self.etcd.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The TempDir field then removes etcd's data, the keys and the logs.
    }
}

fn parse_event(event: &serde_json::Value) -> AuditEvent {
    let text = |pointer: &str| {
        event
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let request_uri = text("/requestURI");
    let dry_run = query_params(&request_uri).any(|param| param == "dryRun=All");
    AuditEvent {
        verb: text("/verb"),
        resource: text("/objectRef/resource"),
        namespace: text("/objectRef/namespace"),
        name: text("/objectRef/name"),
        dry_run,
        user: text("/user/username"),
        code: event
            .pointer("/responseStatus/code")
            .and_then(|code| code.as_u64())
            .unwrap_or(0) as u16,
        request_uri,
    }
}

/// The `name=value` parameters of a request URI's query, as sent (not decoded).
fn query_params(request_uri: &str) -> impl Iterator<Item = &str> {
    let query = request_uri.split_once('?').map_or("", |(_, query)| query);
    query.split('&').filter(|param| !param.is_empty())
}

#[derive(Clone, Copy)]
enum Process {
    Etcd,
    ApiServer,
}

impl Process {
    fn name(self) -> &'static str {
        match self {
            Process::Etcd => "etcd",
            Process::ApiServer => "kube-apiserver",
        }
    }

    fn log(self) -> &'static str {
        match self {
            Process::Etcd => "etcd.log",
            Process::ApiServer => "apiserver.log",
        }
    }
}

/// Both servers log to stderr; stdout goes to the same file.
fn spawn_logged(command: &mut Command, log: &Path) -> Child {
    let file = fs::File::create(log).expect("create a server log");
    let clone = file.try_clone().expect("clone a log file handle");
    command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(clone)
        .spawn()
        .unwrap_or_else(|error| panic!("start {:?}: {error}", command.get_program()))
}

/// Three ports free right now, held at once so they differ.
fn free_ports() -> [u16; 3] {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port"))
        .collect();
    let port = |i: usize| listeners[i].local_addr().unwrap().port();
    [port(0), port(1), port(2)]
}

/// kube-apiserver (`ZT_KUBE_APISERVER` or the default path) and etcd (from PATH).
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let apiserver = std::env::var_os("ZT_KUBE_APISERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_APISERVER));
    let etcd = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("etcd"))
        .find(|path| path.is_file());
    let missing = match (&etcd, apiserver.is_file()) {
        (Some(_), true) => return Some((apiserver, etcd.unwrap())),
        (None, _) => "etcd is not on PATH".to_owned(),
        (Some(_), false) => format!("there is no kube-apiserver at {}", apiserver.display()),
    };
    if std::env::var_os("CI").is_some() {
        panic!(
            "{missing}: run .ci/kube-apiserver.sh (and set ZT_KUBE_APISERVER to the path it prints)"
        );
    }
    eprintln!(
        "note: skipping a test against a real kube-apiserver, {missing}; \
         run .ci/kube-apiserver.sh to build it (about 17 minutes, once)"
    );
    None
}

/// A kubeconfig over several servers, each under its own name: for name `staging`, the
/// contexts `staging` (admin) and `staging-deployer`. An empty name gives the contexts
/// `admin` and `deployer`. The first server's admin context is the current one.
pub fn kubeconfig_yaml(servers: &[(&str, &ApiServer)]) -> String {
    let context = |name: &str, user: &str| match (name, user) {
        ("", user) => user.to_owned(),
        (name, "admin") => name.to_owned(),
        (name, user) => format!("{name}-{user}"),
    };
    let cluster = |name: &str| {
        if name.is_empty() {
            "local".to_owned()
        } else {
            name.to_owned()
        }
    };
    let (mut clusters, mut users, mut contexts) = (String::new(), String::new(), String::new());
    for (name, server) in servers {
        let _ = write!(
            clusters,
            "- name: {}\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\n",
            cluster(name),
            server.url()
        );
        for (user, token) in [("admin", ADMIN_TOKEN), (DEPLOYER, DEPLOYER_TOKEN)] {
            let context = context(name, user);
            let _ = write!(users, "- name: {context}\n  user:\n    token: {token}\n");
            let _ = write!(
                contexts,
                "- name: {context}\n  context:\n    cluster: {}\n    user: {context}\n",
                cluster(name)
            );
        }
    }
    let current = servers
        .first()
        .map_or(String::new(), |(name, _)| context(name, "admin"));
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n{users}contexts:\n{contexts}current-context: {current:?}\n"
    )
}

/// A kubeconfig file over several servers (see `kubeconfig_yaml`) and a kubectl cache dir
/// of its own, for the child processes a test runs.
pub struct Kubeconfig {
    dir: tempfile::TempDir,
}

impl Kubeconfig {
    pub fn new(servers: &[(&str, &ApiServer)]) -> Kubeconfig {
        let dir = tempfile::Builder::new()
            .prefix("zt-kubeconfig-")
            .tempdir()
            .expect("create a temp dir for a kubeconfig");
        fs::write(dir.path().join("kubeconfig"), kubeconfig_yaml(servers))
            .expect("write a kubeconfig");
        Kubeconfig { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Points `command`'s kubectl at this file. The cache dir is separate from ~/.kube so
    /// that discovery cached for an earlier server on the same port is never used.
    pub fn env<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("KUBECONFIG", self.path())
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
    }
}
