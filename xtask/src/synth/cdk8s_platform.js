// The synthetic platform written with cdk8s-plus, for `cargo xtask bench --peers`
// (xtask/src/synth/peers.rs writes its input): `node cdk8s_platform.js PLATFORM.json OUTDIR`.
//
// What zero-trust writes, in cdk8s-plus's own words: each managed namespace a Namespace
// with a deny-all NetworkPolicy, each managed workload a Deployment selecting its labels,
// each foreign end a selection (`Namespaces.select`, `Pods.select`, `NetworkPolicyIpBlock`),
// and each flow `connections.allowTo` / `allowFrom`, which writes the egress policy of the
// source and the ingress policy of the target, each side only where the platform manages
// it. `*` (every managed pod) is a NetworkPolicy per managed namespace.
'use strict';

const fs = require('fs');
const { App, Chart } = require('cdk8s');
const kplus = require('cdk8s-plus-33');

const [input, outdir] = process.argv.slice(2);
const platform = JSON.parse(fs.readFileSync(input, 'utf8'));
const app = new App({ outdir });
const chart = new Chart(app, 'platform');

const managedNamespaces = [];
const namespaces = platform.namespaces.map((namespace) => {
  const id = `ns-${namespace.name}`;
  if (!namespace.managed) {
    return kplus.Namespaces.select(chart, id, { names: [namespace.name] });
  }
  managedNamespaces.push(namespace.name);
  new kplus.NetworkPolicy(chart, `deny-${namespace.name}`, {
    metadata: { namespace: namespace.name },
    selector: kplus.Pods.all(chart, `all-pods-${namespace.name}`),
    ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
    egress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
  });
  return new kplus.Namespace(chart, id, { metadata: { name: namespace.name } });
});

const workloads = platform.workloads.map((workload) => {
  const namespace = platform.namespaces[workload.namespace].name;
  const id = `w-${namespace}-${workload.name}`;
  if (!workload.managed) {
    return kplus.Pods.select(chart, id, {
      labels: workload.labels,
      namespaces: namespaces[workload.namespace],
    });
  }
  const deployment = new kplus.Deployment(chart, id, {
    metadata: { name: workload.name, namespace },
    select: false,
    podMetadata: { labels: workload.labels },
    containers: [{ image: 'app', securityContext: { ensureNonRoot: false } }],
  });
  deployment.select(kplus.LabelSelector.of({ labels: workload.labels }));
  return deployment;
});

const cidrs = platform.cidrs.map((cidr) => {
  const block = cidr.cidr.includes(':') ? kplus.NetworkPolicyIpBlock.ipv6 : kplus.NetworkPolicyIpBlock.ipv4;
  return block(chart, `cidr-${cidr.name}`, cidr.cidr, cidr.except);
});

function end(end) {
  if (end.workload !== undefined) return workloads[end.workload];
  if (end.namespace !== undefined) return namespaces[end.namespace];
  if (end.cidr !== undefined) return cidrs[end.cidr];
  throw new Error(`no construct stands for the end ${JSON.stringify(end)}`);
}

function managed(end) {
  if (end.all) return true;
  if (end.workload !== undefined) return platform.workloads[end.workload].managed;
  if (end.namespace !== undefined) return platform.namespaces[end.namespace].managed;
  return false;
}

function port(port) {
  return kplus.NetworkPolicyPort.of({
    protocol: kplus.NetworkProtocol[port.protocol],
    port: port.port,
    endPort: port.endPort ?? undefined,
  });
}

// Only this side's policy, for a peer the platform does not manage.
const thisSideOnly = { isolation: kplus.PodConnectionsIsolation.POD };

platform.flows.forEach((flow, i) => {
  const ports = flow.ports.map(port);
  if (flow.from.all) {
    for (const namespace of managedNamespaces) {
      new kplus.NetworkPolicy(chart, `all-pods-${namespace}-flow-${i}`, {
        metadata: { namespace },
        selector: kplus.Pods.all(chart, `all-pods-${namespace}-flow-${i}-selector`),
        egress: { rules: [{ peer: end(flow.to), ports }] },
      });
    }
    return;
  }
  const options = (peer) => ({ ports, ...(managed(peer) ? {} : thisSideOnly) });
  if (flow.from.workload !== undefined && managed(flow.from)) {
    end(flow.from).connections.allowTo(end(flow.to), options(flow.to));
  } else {
    end(flow.to).connections.allowFrom(end(flow.from), options(flow.from));
  }
});

app.synth();
