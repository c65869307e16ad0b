// The Kubernetes manifests (deploy/k8s), checked offline: every object against the Kubernetes
// API's own JSON schemas (npm kubernetes-models, generated from the OpenAPI spec), then what
// schemas cannot see: selectors that match their pods, the etcd members the flags name, the
// settings xinfer reads, and the kustomizations' files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'k8s');
const kinds = { 'v1/ConfigMap': ConfigMap, 'v1/Secret': Secret, 'v1/Service': Service, 'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget };

function load(file) {
  const docs = parseAllDocuments(readFileSync(join(root, file), 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: YAML errors`);
  return docs.map((d) => d.toJS()).filter(Boolean);
}

const objects = [...load('etcd.yaml'), ...load('xinfer.yaml')];
const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);

test('every object is valid against the Kubernetes API schemas', () => {
  for (const o of objects) {
    const Model = kinds[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `no schema for ${o.apiVersion} ${o.kind}`);
    assert.doesNotThrow(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`);
  }
  // The check itself works: a wrong type is refused.
  const broken = structuredClone(find('StatefulSet', 'xinfer'));
  broken.spec.replicas = 'two';
  assert.throws(() => new StatefulSet(broken).validate(), /replicas/);
});

test('etcd: three members named in the initial cluster, a headless Service, a budget that keeps the quorum', () => {
  const sts = find('StatefulSet', 'etcd');
  assert.equal(sts.spec.replicas, 3);
  const headless = find('Service', sts.spec.serviceName);
  assert.equal(headless.spec.clusterIP, 'None');
  assert.equal(headless.spec.publishNotReadyAddresses, true);
  const labels = sts.spec.template.metadata.labels;
  assert.ok(matches(sts.spec.selector.matchLabels, labels));
  assert.ok(matches(headless.spec.selector, labels));
  assert.ok(matches(find('Service', 'etcd-client').spec.selector, labels));
  const args = sts.spec.template.spec.containers[0].args.join(' ');
  const members = [...args.matchAll(/(etcd-\d)=http:\/\/\1\.etcd\./g)].map((m) => m[1]);
  assert.deepEqual(members, ['etcd-0', 'etcd-1', 'etcd-2']);
  const pdb = find('PodDisruptionBudget', 'etcd');
  assert.ok(matches(pdb.spec.selector.matchLabels, labels));
  assert.equal(pdb.spec.minAvailable, Math.floor(sts.spec.replicas / 2) + 1);
});

test('xinfer nodes: named by their pod, advertised at the pod IP, joined to etcd, ready on /status', () => {
  const sts = find('StatefulSet', 'xinfer');
  const pod = sts.spec.template;
  assert.ok(matches(find('Service', 'xinfer').spec.selector, pod.metadata.labels));
  assert.ok(matches(find('Service', sts.spec.serviceName).spec.selector, pod.metadata.labels));
  const c = pod.spec.containers[0];
  const env = Object.fromEntries(c.env.map((e) => [e.name, e]));
  assert.equal(env.XINFER_NODE_NAME.valueFrom.fieldRef.fieldPath, 'metadata.name');
  assert.equal(env.POD_IP.valueFrom.fieldRef.fieldPath, 'status.podIP');
  assert.equal(env.XINFER_ADVERTISE.value, 'http://$(POD_IP):9997');
  assert.ok(c.env.findIndex((e) => e.name === 'POD_IP') < c.env.findIndex((e) => e.name === 'XINFER_ADVERTISE'),
    'POD_IP is defined before the value that expands it');
  const config = find('ConfigMap', c.envFrom[0].configMapRef.name);
  assert.equal(config.data.XINFER_ETCD, `http://etcd-client:${find('Service', 'etcd-client').spec.ports[0].port}`);
  assert.ok(find('Secret', c.envFrom[1].secretRef.name).stringData.XINFER_CLUSTER_TOKEN);
  assert.equal(c.readinessProbe.httpGet.path, '/status');
  assert.equal(c.readinessProbe.httpGet.port, env.XINFER_PORT.value * 1);
  // Every XINFER_ setting given is one `xinfer serve` reads.
  const help = readFileSync(join(root, '..', '..', 'src', 'cli', 'cmd_serve.cpp'), 'utf8');
  for (const name of [...Object.keys(config.data), 'XINFER_CLUSTER_TOKEN', ...Object.keys(env).filter((n) => n.startsWith('XINFER_'))])
    assert.match(help, new RegExp(`envname\\("${name}"\\)`), `${name} is read by serve`);
});

test('the kustomizations name files that exist; the GPU variant asks for a GPU per node', () => {
  for (const dir of ['', 'gpu']) {
    const k = load(join(dir, 'kustomization.yaml'))[0];
    for (const r of k.resources) assert.ok(existsSync(join(root, dir, r)), `${dir}/${r}`);
    for (const p of k.patches ?? []) assert.ok(existsSync(join(root, dir, p.path)), `${dir}/${p.path}`);
  }
  const patch = load('gpu/gpu-nodes.yaml')[0];
  assert.equal(patch.metadata.name, 'xinfer');
  assert.equal(patch.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'], 1);
});
