// The cluster on etcd, as several machines: network namespaces joined by a bridge, a 3-member
// etcd on machines 1-3 and xinfer nodes on machines 1-4, with real engines and the tiny models.
// 64 clients keep sending chat requests through the live nodes while nodes are killed, the
// placement leader is killed, an etcd member is killed, a node is cut off and healed, and every
// node is restarted; the only errors allowed are requests that were in flight on a node at the
// moment it was killed, cut off or stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import http from 'node:http';
import { BIN, CHAT_MODEL, EMBED_MODEL, sleep, scratchDir } from './helpers.mjs';
import { NetLab, netnsUnavailable, startEtcd, startEtcdMember, waitFor } from './netlab.mjs';

const TTL = 4;  // --lease-ttl of every node
const shuffled = (a) => {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};
const TOKEN = 'cluster-test-token';
const GPU_NODES = [3, 4];  // these machines report a (simulated) GPU to placement
const skip = netnsUnavailable() ?? (existsSync('/usr/bin/etcd') ? null : 'etcd is not installed (apt-get install etcd-server)');

// One request on a fresh connection; resolves with { status, json, headers } or { error }.
function call(url, method, path, body, timeoutMs = 30000, headers = {}) {
  return new Promise((resolve) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(url + path, {
      method, agent: false, timeout: timeoutMs,
      headers: { ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, json, text, headers: res.headers });
      });
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    if (data) req.write(data);
    req.end();
  });
}

class Cluster {
  constructor(lab, etcd) {
    this.lab = lab;
    this.etcd = etcd.map((m) => m.url).join(',');
    this.nodes = new Map();  // k -> { k, url, home, proc }
    this.homes = new Map();
  }
  url(k) { return `http://${this.lab.addr(k)}:9997`; }

  async start(k) {
    if (!this.homes.has(k)) this.homes.set(k, scratchDir(`xinfer-node${k}-`));
    const proc = this.lab.spawn(k, `node${k}-${Date.now()}`, [BIN, 'serve', '-H', this.lab.addr(k), '-p', '9997',
      '--etcd', this.etcd, '--node-name', `node${k}`, '--cluster-token', TOKEN, '--lease-ttl', String(TTL),
      '--drain-seconds', '5'], { XINFER_HOME: this.homes.get(k), ...(GPU_NODES.includes(k) ? { XINFER_SIMULATED_GPUS: '0:Sim GPU:80000' } : {}) });
    const node = { k, url: this.url(k), proc };
    this.nodes.set(k, node);
    await waitFor(async () => (await fetch(`${node.url}/status`)).ok, 20000, `node${k} to answer (log ${proc.log})`);
    return node;
  }
  async kill(k) {
    const n = this.nodes.get(k);
    n.proc.kill('SIGKILL');
    await n.proc.exited;
    this.nodes.delete(k);
  }
  async stop(k) {
    const n = this.nodes.get(k);
    n.proc.kill('SIGTERM');
    await n.proc.exited;
    this.nodes.delete(k);
  }
  async get(k, path) {
    const r = await call(this.url(k), 'GET', path, undefined, 10000);
    if (r.status !== 200) throw new Error(`GET ${path} on node${k}: ${r.status ?? r.error} ${r.text ?? ''}`);
    return r.json;
  }
  async workers(k) { return (await this.get(k, '/v1/workers')).map((w) => w.node_name).sort(); }
  // The model's replicas across the cluster as node k lists them: node names, and its status.
  async replicas(k, uid) {
    const m = (await this.get(k, '/v1/models')).data.find((x) => x.model_uid === uid);
    // busy: ready, with requests in flight
    return m ? { status: m.status === 'busy' ? 'ready' : m.status, nodes: m.replicas.map((r) => r.node).sort() }
      : { status: 'absent', nodes: [] };
  }
  async leader(k) { return (await this.get(k, '/v1/cluster/info')).find((x) => x.node_type === 'Supervisor').placement_leader; }
  // How many engine processes machine k runs for the cluster (its llama-server children).
  engines(k) {
    try { return this.lab.exec(k, ['pgrep', '-f', `${this.homes.get(k)}/run/`]).trim().split('\n').filter(Boolean).length; }
    catch { return 0; }
  }
}

// 64 clients in a loop, each request through the next live entry node.
class Load {
  constructor(cluster, uid, clients = 64) {
    this.cluster = cluster;
    this.uid = uid;
    this.entries = [...cluster.nodes.keys()];
    this.results = [];
    this.disruptions = [];  // { at, k, what }
    this.running = true;
    let turn = 0;
    this.loops = Array.from({ length: clients }, async () => {
      while (this.running) {
        if (!this.entries.length) { await sleep(50); continue; }
        const k = this.entries[turn++ % this.entries.length];
        const t0 = Date.now();
        const r = await call(cluster.url(k), 'POST', '/v1/chat/completions',
          { model: uid, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }, 30000);
        this.results.push({ t0, t1: Date.now(), k, status: r.status, error: r.error ?? (r.status !== 200 ? r.text : null),
                            served: r.headers?.['x-xinfer-node'] ?? `node${k}` });
        await sleep(20);
      }
    });
  }
  // Takes node k out of the entries and notes the moment, before it is killed, cut or stopped.
  disrupt(k, what) {
    this.entries = this.entries.filter((x) => x !== k);
    this.disruptions.push({ at: Date.now(), k, what });
  }
  restore(k) { if (!this.entries.includes(k)) this.entries.push(k); }
  async finish() {
    this.running = false;
    await Promise.all(this.loops);
  }
  // Failures not explained by a request being in flight at a disruption.
  unexplained() {
    return this.results.filter((r) => r.status !== 200 &&
      !this.disruptions.some((d) => r.t0 <= d.until && r.t1 >= d.at));
  }
}

test('cluster: nodes on etcd serve, fail over and come back', { skip: skip ?? false, timeout: 540000 }, async (t) => {
  const lab = new NetLab(4);
  let failed = false;
  let load;
  // Steps run in order, each on the state the last one left; after a failure the rest are skipped.
  const step = (name, fn) => t.test(name, { skip: failed ? 'an earlier step failed' : false }, async (st) => {
    try {
      await fn(st);
    } catch (e) {
      failed = true;
      throw e;
    }
  });
  try {
    lab.setup();
    const etcd = await startEtcd(lab, [1, 2, 3]);
    const cluster = new Cluster(lab, etcd);
    for (const k of [1, 2, 3, 4]) await cluster.start(k);

    await step('nodes join and every node lists all four', async () => {
      for (const k of [1, 2, 3, 4])
        await waitFor(async () => (await cluster.workers(k)).length === 4, 10000, `node${k} to list 4 workers`);
      assert.deepEqual(await cluster.workers(4), ['node1', 'node2', 'node3', 'node4']);
      const info = await cluster.get(2, '/v1/cluster/info');
      assert.equal(info.filter((x) => x.node_type === 'Worker').length, 4);
    });

    await step('a 2-replica launch spreads over two nodes, visible from every node', async () => {
      const r = await call(cluster.url(1), 'POST', '/v1/models',
        { model_uid: 'chat', model_name: 'tiny-chat', model_type: 'LLM', model_path: CHAT_MODEL, replica: 2 }, 120000);
      assert.equal(r.status, 200, r.text);
      // Every node learns it from its etcd watch, each in its own time.
      for (const n of [4, 1, 2, 3])
        await waitFor(async () => {
          const m = await cluster.replicas(n, 'chat');
          return m.status === 'ready' && m.nodes.length === 2 && new Set(m.nodes).size === 2;
        }, 30000, `node${n} to see two ready replicas on two nodes`);
    });

    await step('a wrong cluster token is refused; a launch on a named worker runs there', async () => {
      const bad = await call(cluster.url(2), 'GET', '/v1/models', undefined, 5000,
        { 'X-Xinfer-Forwarded': 'intruder', 'X-Xinfer-Cluster-Token': 'wrong' });
      assert.equal(bad.status, 403);
      const r = await call(cluster.url(1), 'POST', '/v1/models',
        { model_uid: 'emb', model_name: 'tiny-embed', model_type: 'embedding', model_path: EMBED_MODEL, worker_ip: lab.addr(4) }, 120000);
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => (await cluster.replicas(1, 'emb')).status === 'ready', 30000, 'emb ready');
      await waitFor(async () => JSON.stringify((await cluster.replicas(2, 'emb')).nodes) === '["node4"]', 10000, 'node2 to see emb on node4');
      const e = await call(cluster.url(2), 'POST', '/v1/embeddings', { model: 'emb', input: 'hello' });
      assert.equal(e.status, 200, e.text);
      assert.equal(e.headers['x-xinfer-node'], 'node4');
      assert.ok(e.json.data[0].embedding.length > 0);
      const unknown = await call(cluster.url(2), 'POST', '/v1/models', { model_name: 'tiny-embed', model_type: 'embedding',
        model_path: EMBED_MODEL, worker_ip: '10.9.9.9' });
      assert.equal(unknown.status, 400);
      assert.match(unknown.json.error.message, /No node '10\.9\.9\.9'.*node1/);
      const del = await call(cluster.url(3), 'DELETE', '/v1/models/emb');
      assert.equal(del.status, 200, del.text);
      await waitFor(async () => (await cluster.replicas(1, 'emb')).status === 'absent', 10000, 'emb gone everywhere');
    });

    await step('a registration on one node is known to all: launched by name from another, unregistered from a third', async () => {
      const spec = { version: 2, model_name: 'team-chat', context_length: 2048, model_lang: ['en'], model_ability: ['chat'],
        model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 0, quantization: 'f16', model_uri: `file://${CHAT_MODEL}` }] };
      const r = await call(cluster.url(1), 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(spec), persist: true });
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => (await call(cluster.url(4), 'GET', '/v1/model_registrations/LLM/team-chat')).status === 200, 5000,
        'node4 to know the registration');
      const l = await call(cluster.url(3), 'POST', '/v1/models', { model_name: 'team-chat', model_type: 'LLM', model_uid: 'team' }, 60000);
      assert.equal(l.status, 200, l.text);
      assert.equal((await call(cluster.url(2), 'DELETE', '/v1/models/team')).status, 200);
      assert.equal((await call(cluster.url(2), 'DELETE', '/v1/model_registrations/LLM/team-chat')).status, 200);
      await waitFor(async () => (await call(cluster.url(1), 'GET', '/v1/model_registrations/LLM/team-chat')).status === 404, 5000,
        'node1 to drop the registration');
    });

    await step('requests through any node reach both replicas', async () => {
      const m = await cluster.replicas(1, 'chat');
      const served = new Set();
      for (const k of [1, 2, 3, 4]) {
        const rs = await Promise.all(Array.from({ length: 8 }, () => call(cluster.url(k), 'POST', '/v1/chat/completions',
          { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })));
        for (const r of rs) {
          assert.equal(r.status, 200, r.text);
          served.add(r.headers['x-xinfer-node'] ?? `node${k}`);
        }
      }
      assert.deepEqual([...served].sort(), m.nodes);
    });

    await step('replicas added and removed through any node: the cluster keeps the new count', async () => {
      let r = await call(cluster.url(4), 'POST', '/v1/models/chat/replicas', { replica: 3 }, 60000);
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => (await cluster.replicas(2, 'chat')).nodes.length === 3, 10000, 'three replicas listed');
      await sleep(1500);  // the nodes' agents have looked at it since: nobody undid it
      assert.equal((await cluster.replicas(3, 'chat')).nodes.length, 3);
      r = await call(cluster.url(4), 'POST', '/v1/models/chat/replicas', { replica: 2 }, 60000);
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => {
        const m = await cluster.replicas(1, 'chat');
        return m.nodes.length === 2 && new Set(m.nodes).size === 2;
      }, 10000, 'back to two replicas on two nodes');
      // Down to one (a node is left without a copy and stops it), then two again.
      r = await call(cluster.url(3), 'POST', '/v1/models/chat/replicas', { replica: 1 }, 60000);
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => (await cluster.replicas(4, 'chat')).nodes.length === 1, 10000, 'one replica left');
      await waitFor(async () => [1, 2, 3, 4].reduce((n, k) => n + cluster.engines(k), 0) === 1, 10000, 'one engine left');
      r = await call(cluster.url(2), 'POST', '/v1/models/chat/replicas', { replica: 2 }, 60000);
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => {
        const m = await cluster.replicas(1, 'chat');
        return m.status === 'ready' && m.nodes.length === 2;
      }, 20000, 'two ready replicas again');
    });

    load = new Load(cluster, 'chat');
    await sleep(1000);

    await step('kill -9 of a node with a replica: gone from routing within TTL + 2 s, its replica placed again', async () => {
      const holders = (await cluster.replicas(1, 'chat')).nodes.map((n) => Number(n.slice(4)));
      const victim = holders.find((k) => k !== 1) ?? holders[0];
      load.disrupt(victim, 'kill');
      const killedAt = Date.now();
      await cluster.kill(victim);
      load.disruptions.at(-1).until = Date.now();
      const others = [...cluster.nodes.keys()];
      await waitFor(async () => {
        for (const k of others) if ((await cluster.workers(k)).includes(`node${victim}`)) return false;
        return true;
      }, (TTL + 2) * 1000, `node${victim} to leave every routing table`);
      t.diagnostic(`node${victim} left routing ${Date.now() - killedAt} ms after kill -9`);
      await waitFor(async () => {
        const m = await cluster.replicas(others[0], 'chat');
        return m.status === 'ready' && m.nodes.length === 2 && !m.nodes.includes(`node${victim}`);
      }, 30000, 'the replica to run again on a live node');
      t.diagnostic(`2 ready replicas again ${Date.now() - killedAt} ms after kill -9`);
      await cluster.start(victim);
      load.restore(victim);
    });

    await step('kill -9 of the placement leader: another is elected and carries on', async () => {
      const leader = Number((await cluster.leader(1)).slice(4));
      load.disrupt(leader, 'kill leader');
      await cluster.kill(leader);
      load.disruptions.at(-1).until = Date.now();
      const other = [...cluster.nodes.keys()][0];
      await waitFor(async () => {
        const l = await cluster.leader(other);
        return l && l !== `node${leader}`;
      }, (TTL + 3) * 1000, 'a new leader');
      await waitFor(async () => {
        const m = await cluster.replicas(other, 'chat');
        return m.status === 'ready' && m.nodes.length === 2 && !m.nodes.includes(`node${leader}`);
      }, 30000, 'two ready replicas on live nodes');
      await cluster.start(leader);
      load.restore(leader);
    });

    await step('kill -9 of an etcd member: management and routing carry on', async () => {
      etcd[2].proc.kill('SIGKILL');
      await etcd[2].proc.exited;
      const r = await call(cluster.url(2), 'POST', '/v1/models',
        { model_uid: 'emb2', model_name: 'tiny-embed', model_type: 'embedding', model_path: EMBED_MODEL }, 120000);
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => (await cluster.replicas(4, 'emb2')).status === 'ready', 30000, 'emb2 ready');
      const e = await call(cluster.url(4), 'POST', '/v1/embeddings', { model: 'emb2', input: ['a', 'b'] });
      assert.equal(e.status, 200, e.text);
      assert.equal((await call(cluster.url(1), 'DELETE', '/v1/models/emb2')).status, 200);
      // The member comes back (before the next step cuts a machine that runs another one).
      etcd[2] = startEtcdMember(lab, [1, 2, 3], 3);
      await waitFor(async () => (await fetch(`${etcd[2].url}/health`)).ok, 30000, 'etcd member 3 back');
    });

    await step('a node cut off: others drop it, it stops its engines, and healing brings no duplicate', async () => {
      const holders = (await cluster.replicas(1, 'chat')).nodes.map((n) => Number(n.slice(4)));
      const victim = holders.find((k) => k !== 1) ?? holders[0];
      assert.ok(cluster.engines(victim) > 0, 'the victim runs an engine before the cut');
      load.disrupt(victim, 'cut');
      lab.cut(victim);
      const cutAt = Date.now();
      load.disruptions.at(-1).until = cutAt + 200;  // requests in flight on it then; later ones must go elsewhere
      const others = [...cluster.nodes.keys()].filter((k) => k !== victim);
      // TTL + 2 s, plus up to 2 s more: when the cut machine ran etcd's leader, the new leader
      // (elected after 1 s here) gives every lease a fresh TTL as it takes over.
      await waitFor(async () => !(await cluster.workers(others[0])).includes(`node${victim}`), (TTL + 4) * 1000,
        `node${victim} to leave routing after the cut`);
      t.diagnostic(`cut-off node left routing ${Date.now() - cutAt} ms after the cut`);
      await waitFor(async () => cluster.engines(victim) === 0, (TTL + 4) * 1000, `node${victim} to stop its engines`);
      t.diagnostic(`cut-off node stopped its engines ${Date.now() - cutAt} ms after the cut`);
      await waitFor(async () => {
        const m = await cluster.replicas(others[0], 'chat');
        return m.status === 'ready' && m.nodes.length === 2 && !m.nodes.includes(`node${victim}`);
      }, 30000, 'the replica to run elsewhere');
      lab.heal(victim);
      await waitFor(async () => (await cluster.workers(others[0])).includes(`node${victim}`), 10000, 'the healed node to rejoin');
      for (let i = 0; i < 10; i++) {
        const m = await cluster.replicas(others[0], 'chat');
        assert.ok(m.nodes.length <= 2, `no duplicate replicas after healing: ${JSON.stringify(m)}`);
        await sleep(300);
      }
      load.restore(victim);
    });

    await step('etcd loses its quorum: gateways keep serving, management answers 503 with the reason', async () => {
      for (const i of [1, 2]) {
        etcd[i].proc.kill('SIGKILL');
        await etcd[i].proc.exited;
      }
      await sleep((TTL + 2) * 1000);  // past every lease: nothing may stop for it
      const r = await call(cluster.url(3), 'POST', '/v1/models',
        { model_uid: 'late', model_name: 'tiny-embed', model_type: 'embedding', model_path: EMBED_MODEL }, 30000);
      assert.equal(r.status, 503, r.text);
      assert.match(r.json.error.message, /etcd/);
      const m = await cluster.replicas(1, 'chat');
      assert.equal(m.nodes.length, 2, 'the replicas keep running');
      for (const k of cluster.nodes.keys()) {
        const c = await call(cluster.url(k), 'POST', '/v1/chat/completions',
          { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
        assert.equal(c.status, 200, c.text);
      }
      for (const i of [1, 2]) etcd[i] = startEtcdMember(lab, [1, 2, 3], i + 1);
      for (const i of [1, 2]) await waitFor(async () => (await fetch(`${etcd[i].url}/health`)).ok, 30000, 'etcd back');
      await waitFor(async () => {
        const l = await call(cluster.url(3), 'POST', '/v1/models',
          { model_uid: 'late', model_name: 'tiny-embed', model_type: 'embedding', model_path: EMBED_MODEL }, 30000);
        return l.status === 200;
      }, 20000, 'launches to work again');
      assert.equal((await call(cluster.url(1), 'DELETE', '/v1/models/late')).status, 200);
      assert.equal((await cluster.replicas(2, 'chat')).nodes.length, 2);
    });

    await step('every node restarted, one by one in random order, under load', async () => {
      const order = shuffled([1, 2, 3, 4]);
      t.diagnostic(`restart order: ${order.join(', ')}`);
      for (const k of order) {
        load.disrupt(k, 'restart');
        await cluster.stop(k);
        load.disruptions.at(-1).until = Date.now();
        await cluster.start(k);
        load.restore(k);
        // As an operator rolls a cluster: the next node only once both replicas serve again.
        await waitFor(async () => {
          const m = await cluster.replicas(k, 'chat');
          return m.status === 'ready' && m.nodes.length === 2;
        }, 30000, 'two ready replicas after a restart');
      }
      await waitFor(async () => {
        const m = await cluster.replicas(1, 'chat');
        return m.status === 'ready' && m.nodes.length === 2;
      }, 30000, 'two ready replicas after the restarts');
    });

    await step('64 clients through all of it: no error but requests in flight on a disrupted node', async () => {
      await load.finish();
      const ok = load.results.filter((r) => r.status === 200).length;
      const bad = load.unexplained();
      t.diagnostic(`${load.results.length} requests, ${ok} answered, ${load.results.length - ok - bad.length} in flight at a disruption failed`);
      const kinds = {};
      for (const r of bad) {
        const key = `${r.status ?? 'no answer'} via node${r.k}: ${String(r.error).slice(0, 120)}`;
        kinds[key] = (kinds[key] ?? 0) + 1;
      }
      for (const [key, n] of Object.entries(kinds)) t.diagnostic(`${n} x ${key}`);
      assert.ok(ok > 200, `the load made progress (${ok})`);
      assert.deepEqual(bad.slice(0, 5), [], `${bad.length} requests failed outside a disruption`);
    });

    await step('a replica whose node dies goes where it fits: nodes without a GPU refuse a GPU model, one with a GPU takes it', async () => {
      const r = await call(cluster.url(1), 'POST', '/v1/models', { model_uid: 'gpu-chat', model_name: 'tiny-chat', model_type: 'LLM',
        model_path: CHAT_MODEL, n_gpu: 1, worker_ip: 'node4' }, 120000);
      assert.equal(r.status, 200, r.text);
      await waitFor(async () => JSON.stringify((await cluster.replicas(2, 'gpu-chat')).nodes) === '["node4"]', 10000,
        'node2 to see gpu-chat on node4');
      await cluster.kill(4);
      await waitFor(async () => {
        const m = await cluster.replicas(1, 'gpu-chat');
        return m.status === 'ready' && m.nodes.length === 1;
      }, 40000, 'gpu-chat to run again');
      await waitFor(async () => JSON.stringify((await cluster.replicas(2, 'gpu-chat')).nodes) === '["node3"]', 10000,
        'node2 to see gpu-chat on node3, the one other node with a GPU');
      const c = await call(cluster.url(1), 'POST', '/v1/chat/completions',
        { model: 'gpu-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      assert.equal(c.status, 200, c.text);
      assert.equal((await call(cluster.url(2), 'DELETE', '/v1/models/gpu-chat')).status, 200);
      await cluster.start(4);
    });

    await step('every node stopped, then started in random order: the model comes back', async () => {
      for (const k of [...cluster.nodes.keys()]) await cluster.stop(k);
      for (const k of shuffled([1, 2, 3, 4])) await cluster.start(k);
      await waitFor(async () => {
        const m = await cluster.replicas(2, 'chat');
        return m.status === 'ready' && m.nodes.length === 2;
      }, 30000, 'two ready replicas after a full restart');
      const r = await call(cluster.url(3), 'POST', '/v1/chat/completions',
        { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
      assert.equal(r.status, 200, r.text);
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (load?.running) await load.finish();
    if (failed) console.log(`cluster test logs kept in ${lab.dir}`);
    await lab.teardown({ keepLogs: failed });
  }
});

test("Xinference's commands: xinference-supervisor, then xinference-worker -e joins it", { skip: skip ?? false, timeout: 180000 }, async (t) => {
  const lab = new NetLab(2, { net: 214 });
  let ok = false;
  try {
    lab.setup();
    const bin = (name) => join(BIN, '..', name);
    const supervisor = `http://${lab.addr(1)}:9997`, worker = `http://${lab.addr(2)}:9997`;
    // As Xinference's docs start them: the supervisor on one machine, a worker naming it.
    lab.spawn(1, 'supervisor', [bin('xinference-supervisor'), '-H', lab.addr(1), '-p', '9997'],
      { XINFER_HOME: scratchDir('xinfer-sup-'), XINFER_CLUSTER_TOKEN: TOKEN });
    await waitFor(async () => (await fetch(`${supervisor}/status`)).ok, 30000, 'the supervisor');
    lab.spawn(2, 'worker', [bin('xinference-worker'), '-e', supervisor, '-H', lab.addr(2), '--worker-port', '9997'],
      { XINFER_HOME: scratchDir('xinfer-worker-'), XINFER_CLUSTER_TOKEN: TOKEN });
    await waitFor(async () => (await fetch(`${worker}/status`)).ok, 30000, 'the worker');
    await waitFor(async () => (await (await fetch(`${supervisor}/v1/workers`)).json()).length === 2, 10000, 'two workers');
    const names = (await (await fetch(`${worker}/v1/workers`)).json()).map((w) => w.node_name).sort();
    assert.deepEqual(names, [`${lab.addr(1)}:9997`, `${lab.addr(2)}:9997`]);

    // xinference launch --worker-ip through the supervisor: the model runs on the worker.
    const launched = execFileSync(bin('xinference'), ['launch', '-e', supervisor, '-n', 'tiny-embed', '-t', 'embedding',
      '--model-path', EMBED_MODEL, '-u', 'emb', '--worker-ip', lab.addr(2)], { encoding: 'utf8' });
    assert.match(launched, /Model uid: emb/);
    const e = await call(supervisor, 'POST', '/v1/embeddings', { model: 'emb', input: 'hello' });
    assert.equal(e.status, 200, e.text);
    assert.equal(e.headers['x-xinfer-node'], `${lab.addr(2)}:9997`);
    const listed = execFileSync(bin('xinference'), ['list', '-e', worker], { encoding: 'utf8' });
    assert.match(listed, /emb\s+embedding\s+tiny-embed/);
    ok = true;
  } finally {
    if (!ok) console.log(`logs kept in ${lab.dir}`);
    await lab.teardown({ keepLogs: !ok });
  }
});

// Two nodes on loopback and a one-member etcd: enough to see keys travel.
test('API keys made on one node work on every node, and a revocation reaches them all',
  { skip: existsSync('/usr/bin/etcd') ? false : 'etcd is not installed (apt-get install etcd-server)', timeout: 120000 }, async () => {
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const freePort = () => new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const dir = scratchDir('xinfer-cluster-keys-');
  const [client, peer, portA, portB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const procs = [];
  const run = (argv, env = {}) => {
    const p = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: 'ignore' });
    procs.push(p);
    return p;
  };
  try {
    run(['/usr/bin/etcd', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${client}`,
      '--advertise-client-urls', `http://127.0.0.1:${client}`, '--listen-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `default=http://127.0.0.1:${peer}`]);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${client}/health`)).ok, 20000, 'etcd');
    const ADMIN = 'sk-AdminKey00001';
    const authFile = join(dir, 'auth.json');
    writeFileSync(authFile, JSON.stringify({
      auth_config: { algorithm: 'HS256', secret_key: 'a-secret-of-at-least-16-chars', token_expire_in_minutes: 30 },
      user_config: [{ username: 'admin', password: 'admin-password-1', permissions: ['admin'], api_keys: [ADMIN] }],
    }));
    const urls = [];
    for (const [name, port] of [['a', portA], ['b', portB]]) {
      run([BIN, 'serve', '-H', '127.0.0.1', '-p', String(port), '--etcd', `http://127.0.0.1:${client}`, '--node-name', name,
        '--cluster-token', TOKEN, '--auth-config', authFile], { XINFER_HOME: join(dir, name) });
      urls.push(`http://127.0.0.1:${port}`);
      await waitFor(async () => (await fetch(`${urls.at(-1)}/status`)).ok, 20000, `node ${name}`);
    }
    const as = (key) => ({ Authorization: `Bearer ${key}` });
    const made = await call(urls[0], 'POST', '/v1/admin/keys', { user: 'admin', name: 'shared' }, 10000, as(ADMIN));
    assert.equal(made.status, 201, made.text);
    await waitFor(async () => (await call(urls[1], 'GET', '/v1/models', undefined, 5000, as(made.json.key))).status === 200, 5000,
      'the key to work on node b');
    // A login token from one node is good on the other too (the auth file's secret signs both).
    const token = await call(urls[1], 'POST', '/token', { username: 'admin', password: 'admin-password-1' });
    assert.equal((await call(urls[0], 'GET', '/v1/models', undefined, 5000, as(token.json.access_token))).status, 200);
    const revoked = await call(urls[1], 'DELETE', `/v1/admin/keys/${made.json.id}`, undefined, 10000, as(ADMIN));
    assert.equal(revoked.status, 200, revoked.text);
    await waitFor(async () => (await call(urls[0], 'GET', '/v1/models', undefined, 5000, as(made.json.key))).status === 401, 5000,
      'node a to refuse the revoked key');
    assert.equal((await call(urls[0], 'GET', '/v1/models', undefined, 5000, as('sk-NotAKey00000'))).status, 401);
  } finally {
    for (const p of procs.reverse()) p.kill('SIGTERM');
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
});
