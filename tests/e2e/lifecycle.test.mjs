// Resources and life cycle with real processes: crash recovery, replicas and failover, request
// limits, idle unload and reload, persistence across restarts, declarative deployment, SIGTERM
// draining, no orphans after the service is killed, placement refusals and the thread budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, api, pidAlive, waitFor, engineBusy, openChatStream, CHAT_MODEL, EMBED_MODEL, RERANK_MODEL, WHISPER_MODEL, scratchDir } from './helpers.mjs';

const chat = (server, model, extra = {}) => api(server, 'POST', '/v1/chat/completions',
  { model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, ...extra });
const describe = async (server, uid) => (await api(server, 'GET', `/v1/models/${uid}`)).json;
const pids = async (server, uid) => (await describe(server, uid)).replicas.map((r) => r.pid);
// The GPUs an engine process was given, as the CUDA runtime will read them.
const visibleGpus = async (server, uid) => readFileSync(`/proc/${(await pids(server, uid))[0]}/environ`, 'latin1')
  .split('\0').find((v) => v.startsWith('CUDA_VISIBLE_DEVICES='))?.split('=')[1];

test('a killed engine is restarted with back-off, a bounded number of times, and events say so', async () => {
  const server = await startServer({ env: { XINFER_RESTART_BACKOFF_MS: '100', XINFER_MAX_RESTARTS: '2' } });
  try {
    await launch(server, { model_name: 'crashy', model_path: CHAT_MODEL });
    for (let round = 1; round <= 2; round++) {
      const [pid] = await pids(server, 'crashy');
      process.kill(pid, 'SIGKILL');
      assert.ok(await waitFor(async () => {
        const d = await describe(server, 'crashy');
        return d.status === 'ready' && d.replicas[0].pid !== pid;
      }, { timeout: 20000 }), `restart ${round}`);
      assert.equal((await chat(server, 'crashy')).status, 200);
    }
    const events = (await api(server, 'GET', '/v1/models/crashy/events')).json.map((e) => e.event);
    assert.equal(events.filter((e) => e === 'replica_exit').length, 2);
    assert.equal(events.filter((e) => e === 'restart_scheduled').length, 2);
    assert.equal((await describe(server, 'crashy')).restarts, 2);
    // The third death is one too many: the model is failed, with the reason.
    process.kill((await pids(server, 'crashy'))[0], 'SIGKILL');
    assert.ok(await waitFor(async () => (await describe(server, 'crashy')).status === 'failed'));
    assert.match((await describe(server, 'crashy')).failure_reason, /restarts are used up/);
    assert.equal((await chat(server, 'crashy')).status, 503);
  } finally {
    await server.stop();
  }
});

test('replicas: traffic moves off a dead replica; scaling at run time', async () => {
  const server = await startServer({ env: { XINFER_RESTART_BACKOFF_MS: '60000' } });
  try {
    await launch(server, { model_name: 'pair', model_path: CHAT_MODEL, replica: 2 });
    const before = await describe(server, 'pair');
    const [a, b] = before.replicas.map((r) => r.pid);
    const load = Array.from({ length: 6 }, () => chat(server, 'pair', { max_tokens: 400, ignore_eos: true }));
    assert.ok(await waitFor(() => engineBusy(before.replicas[0].address).catch(() => false)), 'replica 0 is serving when it dies');
    process.kill(a, 'SIGKILL');
    const during = await Promise.all(load);
    assert.ok(during.filter((r) => r.status === 200).length >= 3, 'requests on the live replica succeed');
    for (const r of during) assert.ok(r.status === 200 || r.status >= 500, 'a lost request gets a clear 5xx');
    await waitFor(async () => !(await describe(server, 'pair')).replicas[0].running);
    for (let i = 0; i < 6; i++) assert.equal((await chat(server, 'pair')).status, 200, 'all later requests go to the live replica');
    assert.ok(pidAlive(b));

    const up = await api(server, 'POST', '/v1/models/pair/replicas', { replica: 3 });
    assert.equal(up.status, 200, up.text);
    assert.ok(await waitFor(async () => (await describe(server, 'pair')).replicas.filter((r) => r.running).length === 2 &&
      (await describe(server, 'pair')).replicas.length === 3));
    const third = (await describe(server, 'pair')).replicas[2].pid;
    assert.equal((await api(server, 'DELETE', '/v1/models/pair/replicas/2')).status, 200);
    // Its engine stops after its requests (none here), within a 5 s SIGTERM grace, then SIGKILL;
    // a CI machine under load once took longer than 10 s here: what the process and the model
    // looked like then is in the message.
    if (!(await waitFor(() => !pidAlive(third), { timeout: 20000 }))) {
      let proc = '';
      try { proc = readFileSync(`/proc/${third}/stat`, 'utf8'); } catch { /* gone meanwhile */ }
      assert.fail(`the removed replica's engine (pid ${third}) is still there: ${proc}\n` +
        JSON.stringify(await describe(server, 'pair')));
    }
    assert.equal((await describe(server, 'pair')).replicas.length, 2);
  } finally {
    await server.stop();
  }
});

test('request_limits: beyond the limit requests queue, beyond the queue they get 429 with Retry-After', async () => {
  const server = await startServer({ env: { XINFER_QUEUE_TIMEOUT: '60' } });
  try {
    await launch(server, { model_name: 'limited', model_path: CHAT_MODEL, request_limits: 1, request_queue: 1, n_ctx: 16384 });
    // The first request holds the only slot until this test hangs up on it: a stream far longer
    // than the round trips below, checked to be still running when the 429 comes.
    const first = await openChatStream(server, { model: 'limited', max_tokens: 16000, ignore_eos: true });
    try {
      assert.equal(first.status, 200);
      assert.ok(await waitFor(async () => (await describe(server, 'limited')).requests.active === 1));
      const second = chat(server, 'limited', { max_tokens: 8 });
      assert.ok(await waitFor(async () => (await describe(server, 'limited')).requests.waiting === 1), 'the queue is visible');
      const metrics = (await api(server, 'GET', '/metrics')).text;
      assert.match(metrics, /xinfer_requests_queued\{model="limited",type="LLM"\} 1/);
      const third = await chat(server, 'limited', { max_tokens: 8 });
      assert.equal(first.ended(), false, 'the slot was still held when the third request came');
      assert.equal(third.status, 429, third.text);
      assert.equal(third.headers['retry-after'], '1');
      assert.equal(third.json.error.type, 'rate_limit_error');
      first.close();
      assert.equal((await second).status, 200, 'the queued request is served once the slot frees');
    } finally {
      first.close();
    }
    assert.equal((await describe(server, 'limited')).requests.rejected, 1);
  } finally {
    await server.stop();
  }
});

test('idle unload frees the engine; the next request reloads it transparently', async () => {
  const server = await startServer();
  try {
    await launch(server, { model_name: 'sleepy', model_path: CHAT_MODEL, keep_alive: 1 });
    const [pid] = await pids(server, 'sleepy');
    assert.ok(await waitFor(async () => (await describe(server, 'sleepy')).status === 'idle_unloaded', { timeout: 10000 }));
    assert.ok(await waitFor(() => !pidAlive(pid)), 'the engine process is gone');
    const d = await describe(server, 'sleepy');
    assert.equal(d.model_uid, 'sleepy', 'uid and settings stay');
    // Several requests arrive together while it is unloaded: one reload serves them all.
    const results = await Promise.all(Array.from({ length: 4 }, () => chat(server, 'sleepy')));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const [again] = await pids(server, 'sleepy');
    assert.notEqual(again, pid);
    assert.equal((await describe(server, 'sleepy')).status, 'ready');
    const events = (await api(server, 'GET', '/v1/models/sleepy/events')).json;
    assert.equal(events.filter((e) => /reloading for a request/.test(e.detail)).length, 1, JSON.stringify(events));
  } finally {
    await server.stop();
  }
});

test('launched models come back after a restart; a terminated one does not; history is kept', async () => {
  let server = await startServer();
  try {
    await launch(server, { model_name: 'keep-chat', model_path: CHAT_MODEL, n_ctx: 1024 });
    await launch(server, { model_name: 'keep-embed', model_type: 'embedding', model_path: EMBED_MODEL });
    await launch(server, { model_name: 'gone', model_path: CHAT_MODEL });
    await api(server, 'DELETE', '/v1/models/gone');
    await server.stop({ keepHome: true });
    server = await startServer({ home: server.home });
    assert.ok(await waitFor(async () => (await describe(server, 'keep-chat'))?.status === 'ready' &&
      (await describe(server, 'keep-embed'))?.status === 'ready', { timeout: 30000 }));
    assert.equal((await describe(server, 'keep-chat')).launch_params.n_ctx, 1024, 'with its launch parameters');
    assert.equal((await api(server, 'GET', '/v1/models/gone')).status, 404);
    assert.equal((await chat(server, 'keep-chat')).status, 200);
    const history = (await api(server, 'GET', '/v1/models/gone/events')).json.map((e) => e.event);
    assert.ok(history.includes('terminated') && history.includes('launch'), history.join(','));
  } finally {
    await server.stop();
  }
});

test('serve --config brings the service to the file\'s state, and again idempotently', async () => {
  const dir = scratchDir('xinfer-deploy-');
  const config = join(dir, 'deploy.json');
  writeFileSync(config, JSON.stringify({ models: [
    { model_uid: 'dep-chat', model_name: 'qwen2.5-instruct', model_type: 'LLM', model_path: CHAT_MODEL, replica: 1, enable: true },
    { model_uid: 'dep-embed', model_name: 'bge-small-en-v1.5', model_type: 'embedding', model_path: EMBED_MODEL, enable: true },
    { model_uid: 'dep-off', model_name: 'qwen3', model_type: 'LLM', model_path: CHAT_MODEL, enable: false },
  ] }));
  let server = await startServer({ args: ['--config', config] });
  try {
    assert.ok(await waitFor(async () => (await describe(server, 'dep-chat'))?.status === 'ready' &&
      (await describe(server, 'dep-embed'))?.status === 'ready', { timeout: 30000 }));
    assert.equal((await api(server, 'GET', '/v1/models/dep-off')).status, 404);
    await server.stop({ keepHome: true });
    server = await startServer({ home: server.home, args: ['--config', config] });
    assert.ok(await waitFor(async () => (await describe(server, 'dep-chat'))?.status === 'ready', { timeout: 30000 }));
    const list = (await api(server, 'GET', '/v1/models')).json.data.map((m) => m.id).sort();
    assert.deepEqual(list, ['dep-chat', 'dep-embed']);
    assert.match(server.log(), /"dep-chat":"running"/, 'the second start leaves the running model alone');
  } finally {
    await server.stop();
  }
});

test('SIGTERM lets a stream in flight finish, then stops every engine and removes its socket', async () => {
  const server = await startServer();
  try {
    await launch(server, { model_name: 'drain', model_path: CHAT_MODEL, n_ctx: 4096 });
    const { pid, address } = (await describe(server, 'drain')).replicas[0];
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'drain', messages: [{ role: 'user', content: 'go' }], max_tokens: 2000, ignore_eos: true, stream: true }) });
    const reader = res.body.getReader();
    await reader.read();  // the stream has started
    assert.ok(await engineBusy(address), 'the engine is still generating when the signal comes');
    server.proc.kill('SIGTERM');
    let body = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      body += Buffer.from(value).toString();
    }
    assert.ok(body.trimEnd().endsWith('data: [DONE]'), 'the in-flight stream completed');
    const exit = await server.exited;
    assert.equal(exit.code, 0);
    assert.ok(!pidAlive(pid), 'no engine left behind');
    assert.ok(!readdirSync(join(server.home, 'run')).some((f) => f.endsWith('.sock')), 'no stale sockets');
  } finally {
    await server.stop();
  }
});

test('kill -9 of the service leaves no engine running', async () => {
  const server = await startServer();
  try {
    await launch(server, { model_name: 'orphan-a', model_path: CHAT_MODEL });
    await launch(server, { model_name: 'orphan-b', model_type: 'embedding', model_path: EMBED_MODEL });
    const engines = [...await pids(server, 'orphan-a'), ...await pids(server, 'orphan-b')];
    server.proc.kill('SIGKILL');
    await server.exited;
    assert.ok(await waitFor(() => engines.every((p) => !pidAlive(p))), 'engines die with the service');
  } finally {
    await server.stop();
  }
});

test('placement: memory and GPU refusals are 503s with the numbers; simulated GPUs are reported', async () => {
  const server = await startServer({ env: { XINFER_RAM_MB: '60', XINFER_SIMULATED_GPUS: '0:Simulated GPU:50,1:Simulated GPU:8000' } });
  try {
    const devices = (await api(server, 'GET', '/v1/cluster/devices')).json;
    assert.equal(devices.gpus.length, 2);
    assert.equal(devices.gpus[1].memory_total_mb, 8000);
    const info = (await api(server, 'GET', '/v1/cluster/info')).json;
    assert.equal(info[0].gpus.length, 2);

    const cpu = await api(server, 'POST', '/v1/models', { model_name: 'big', model_path: CHAT_MODEL, n_gpu: null });
    assert.equal(cpu.status, 503, cpu.text);
    assert.match(cpu.json.detail, /Not enough memory: the model needs about \d+ MiB, \d+ MiB of 60 MiB/);
    const small = await api(server, 'POST', '/v1/models', { model_name: 'g0', model_path: CHAT_MODEL, n_gpu: 1, gpu_idx: [0] });
    assert.equal(small.status, 503);
    assert.match(small.json.detail, /Not enough GPU memory on GPU 0/);
    const two = await api(server, 'POST', '/v1/models', { model_name: 'g2', model_path: CHAT_MODEL, n_gpu: 3 });
    assert.equal(two.status, 503);
    // It fits GPU 1: placed there, with the engine pinned to it and all layers offloaded.
    await launch(server, { model_name: 'g1', model_path: CHAT_MODEL, n_gpu: 'auto' });
    const r = (await describe(server, 'g1')).replicas[0];
    assert.ok(r.command.join(' ').includes('--n-gpu-layers 999'));
    const reservations = (await api(server, 'GET', '/v1/cluster/info')).json[0].reservations;
    assert.deepEqual(reservations.find((x) => x.replica === 'g1#0').gpus, [1]);
    assert.equal(await visibleGpus(server, 'g1'), '1');
    // whisper computes on a GPU too (on the CPU when the build has no CUDA).
    await launch(server, { model_name: 'stt-gpu', model_type: 'audio', model_path: WHISPER_MODEL, n_gpu: 'auto' });
    assert.ok((await describe(server, 'stt-gpu')).replicas[0].command.includes('--gpu'));
    const held = (await api(server, 'GET', '/v1/cluster/info')).json[0].reservations;
    assert.deepEqual(held.find((x) => x.replica === 'stt-gpu#0').gpus, [1]);
    assert.equal(await visibleGpus(server, 'stt-gpu'), '1');
  } finally {
    await server.stop();
  }
});

const threadsOf = async (server, uid) => {
  const cmd = (await describe(server, uid)).replicas[0].command;
  return Number(cmd[cmd.indexOf('--threads') + 1]);
};

test('strict thread budget: co-located engines never ask for more threads than there are cores', async () => {
  const server = await startServer({ args: ['--cpu-budget', 'strict'], env: { XINFER_CPU_CORES: '2' } });
  try {
    await launch(server, { model_name: 'cores-a', model_path: CHAT_MODEL });
    await launch(server, { model_name: 'cores-b', model_type: 'embedding', model_path: EMBED_MODEL });
    assert.equal((await threadsOf(server, 'cores-a')) + (await threadsOf(server, 'cores-b')), 2);
    const third = await api(server, 'POST', '/v1/models', { model_name: 'cores-c', model_path: CHAT_MODEL });
    assert.equal(third.status, 503);
    assert.match(third.json.detail, /all 2 cores are assigned \(cores-a \(1\), cores-b \(1\)\)/);
    await api(server, 'DELETE', '/v1/models/cores-b');
    const explicit = await api(server, 'POST', '/v1/models', { model_name: 'cores-d', model_path: CHAT_MODEL, n_threads: 2 });
    assert.equal(explicit.status, 503);
    assert.match(explicit.json.detail, /n_threads=2 asked, 1 of 2 cores free/);
    await launch(server, { model_name: 'cores-e', model_path: CHAT_MODEL, n_threads: 1 });
    assert.equal(await visibleGpus(server, 'cores-e'), '', 'a CPU replica sees no GPU');
    // Built-in speech engines are single-threaded and outside the budget.
    await launch(server, { model_name: 'flite', model_type: 'audio' });
  } finally {
    await server.stop();
  }
});

test('shared thread budget (default): a full machine still launches more models, sharing cores', async () => {
  const server = await startServer({ env: { XINFER_CPU_CORES: '2' } });
  try {
    await launch(server, { model_name: 'share-a', model_path: CHAT_MODEL });
    await launch(server, { model_name: 'share-b', model_type: 'embedding', model_path: EMBED_MODEL });
    await launch(server, { model_name: 'share-c', model_type: 'rerank', model_path: RERANK_MODEL });
    await launch(server, { model_name: 'share-d', model_type: 'audio', model_path: WHISPER_MODEL });
    const held = (await api(server, 'GET', '/v1/cluster/info')).json[0].reservations;
    const byModel = Object.fromEntries(held.map((r) => [r.replica.split('#')[0], r]));
    assert.equal(byModel['share-a'].threads + byModel['share-b'].threads, 2, 'the first two take the cores');
    assert.equal(byModel['share-a'].shared_cores, false);
    for (const uid of ['share-c', 'share-d']) {
      assert.equal(byModel[uid].shared_cores, true, `${uid} shares cores and says so`);
      assert.equal(byModel[uid].threads, 1);
      assert.equal(await threadsOf(server, uid), 1, 'the engine got what was recorded');
    }
    const rr = await api(server, 'POST', '/v1/rerank', { model: 'share-c', query: 'q', documents: ['a', 'b'] });
    assert.equal(rr.status, 200, 'a model on shared cores serves');
    // An explicit n_threads is a promise of dedicated cores: refused when they are not free.
    const explicit = await api(server, 'POST', '/v1/models', { model_name: 'share-e', model_path: CHAT_MODEL, n_threads: 2 });
    assert.equal(explicit.status, 503);
    assert.match(explicit.json.detail, /n_threads=2 asked, 0 of 2 cores free/);
  } finally {
    await server.stop();
  }
});
