// Xinference's Python client against xinfer: each request below is the body the client (file
// xinference/client/restful/restful_client.py) or its CLI sends, and each assertion is a field
// the client reads. Written from reading the client; the client itself is not vendored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { startServer, api, launch, waitFor, pidAlive, sleep, engine, engineBusy, CHAT_MODEL, EMBED_MODEL, scratchDir } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => server?.stop());

// What `xinference launch` posts (every key, nulls included), plus its --key value extras.
const cliLaunchBody = (extra) => ({
  model_uid: null, model_name: 'qwen2.5-instruct', model_engine: 'llama.cpp', peft_model_config: null,
  model_type: 'LLM', model_size_in_billions: null, model_format: null, quantization: null, replica: 1,
  n_worker: 1, n_gpu: 'auto', request_limits: null, worker_ip: null, gpu_idx: null, replica_config: null,
  model_path: CHAT_MODEL, enable_thinking: false, enable_virtual_env: null, virtual_env_packages: null,
  virtual_env_find_links: null, envs: null, trust_remote_code: true, ...extra,
});

async function waitReady(uid) {
  // The CLI's loop: instances until READY/ERROR, progress for the bar.
  let last;
  assert.ok(await waitFor(async () => {
    last = (await api(server, 'GET', `/v1/models/instances?model_name=qwen2.5-instruct&model_uid=${uid}`)).json;
    return last.length === 1 && ['READY', 'ERROR'].includes(last[0].status);
  }, { timeout: 60000 }), JSON.stringify(last));
  return last[0];
}

test('the client constructor and the CLI launch loop: auth, launch with generic keys, instances, progress, describe', async () => {
  const auth = await api(server, 'GET', '/v1/cluster/auth');
  assert.equal(auth.status, 200);
  assert.deepEqual(auth.json, { auth: false });

  const r = await api(server, 'POST', '/v1/models?wait_ready=False', cliLaunchBody({ model_uid: 'compat-chat', n_ctx: 1024 }));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { model_uid: 'compat-chat' });
  const progress = (await api(server, 'GET', '/v1/models/compat-chat/progress')).json;
  assert.equal(typeof progress.progress, 'number');
  const info = await waitReady('compat-chat');
  assert.equal(info.status, 'READY');
  assert.equal(info.model_uid, 'compat-chat');
  assert.equal(info.model_name, 'qwen2.5-instruct');
  assert.ok(info.model_ability.includes('chat'));
  assert.equal(info.replica, 1);
  assert.equal(info.replica_statuses[0].replica_model_uid, 'compat-chat-rep0');
  assert.equal(info.replica_statuses[0].status, 'READY');
  assert.equal((await api(server, 'GET', '/v1/models/compat-chat/progress')).json.progress, 1);

  // get_model() dispatches on model_type and model_ability; `list` reads these fields.
  const d = (await api(server, 'GET', '/v1/models/compat-chat')).json;
  assert.equal(d.model_type, 'LLM');
  assert.ok(d.model_ability.includes('chat'));
  assert.equal(d.model_format, 'ggufv2');
  assert.equal(d.quantization, 'F16', 'read from the GGUF header (general.file_type)');
  assert.match(String(d.model_size_in_billions), /^0_\d+$/, 'a fraction of a billion, in Xinference spelling');
  assert.equal(d.replica, 1);
  // The rest of Xinference's LLM description (to_description): a script may read any of them.
  assert.deepEqual(d.accelerators, [], 'a CPU replica sees no GPU');
  assert.equal(d.model_family, 'qwen2.5-instruct', 'no family in the spec: the name, as upstream');
  assert.equal(d.model_hub, 'huggingface');
  assert.equal(d.revision, null);
  assert.equal(d.multimodal_projector, null);
  assert.equal(d.strict_system_first, false, "the tiny model's template takes a system message anywhere");
  const listed = (await api(server, 'GET', '/v1/models')).json.data.find((m) => m.id === 'compat-chat');
  for (const k of ['model_type', 'model_name', 'model_format', 'model_size_in_billions', 'quantization']) assert.ok(k in listed, k);

  // Generic keys are not refused: they are reported in the events with the reason.
  const events = (await api(server, 'GET', '/v1/models/compat-chat/events')).json;
  const ignored = events.filter((e) => e.event === 'ignored').map((e) => e.detail);
  assert.ok(ignored.some((x) => x.startsWith('trust_remote_code=true: ')), JSON.stringify(ignored));
  assert.ok(!ignored.some((x) => x.startsWith('enable_virtual_env')), 'unset keys are not reported');
  // Engine options llama.cpp does not know stay a 400 naming the known ones.
  const bad = await api(server, 'POST', '/v1/models', cliLaunchBody({ model_uid: 'bad-opt', tensor_parallel_size: 2 }));
  assert.equal(bad.status, 400);
  assert.match(bad.json.detail, /Unknown engine option 'tensor_parallel_size'.*n_ctx/);

  // An unknown uid: an empty instance list and a pending progress, as upstream answers.
  assert.deepEqual((await api(server, 'GET', '/v1/models/instances?model_uid=nothing')).json, []);
  const pending = await api(server, 'GET', '/v1/models/nothing/progress');
  assert.equal(pending.status, 200);
  assert.equal(pending.json.progress, 0);
  assert.equal(pending.json.stage, 'pending');
  await api(server, 'DELETE', '/v1/models/compat-chat');
});

test('enable_thinking is the chat template\'s thinking switch', async () => {
  const render = async (uid) => {
    const d = (await api(server, 'GET', `/v1/models/${uid}`)).json;
    const out = await engine(d.replicas[0].address, 'POST', '/apply-template', { messages: [{ role: 'user', content: 'hi' }] });
    return { prompt: out.prompt, command: d.replicas[0].command };
  };
  await launch(server, cliLaunchBody({ model_uid: 'think-off', enable_thinking: false }));
  await launch(server, cliLaunchBody({ model_uid: 'think-on', enable_thinking: true }));
  const off = await render('think-off');
  const on = await render('think-on');
  assert.ok(off.command.join(' ').includes('--reasoning off'));
  assert.ok(on.command.join(' ').includes('--reasoning on'));
  assert.match(off.prompt, /<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/, 'thinking off pre-fills an empty thought');
  assert.doesNotMatch(on.prompt, /<think>/);
  await api(server, 'DELETE', '/v1/models/think-off');
  await api(server, 'DELETE', '/v1/models/think-on');
});

test('engines: what the `engine` command tabulates; unknown names are a 404', async () => {
  const llm = await api(server, 'GET', '/v1/engines/LLM/qwen2.5-instruct');
  assert.equal(llm.status, 200);
  const params = llm.json['llama.cpp'];
  assert.ok(params.length >= 3);
  const small = params.find((p) => p.model_size_in_billions === '0_5');
  assert.equal(small.model_format, 'ggufv2');
  assert.ok(small.quantizations.includes('q4_k_m'));
  const emb = (await api(server, 'GET', '/v1/engines/bge-small-en-v1.5')).json['llama.cpp'];
  assert.ok(emb.length >= 1 && emb.every((p) => typeof p.quantization === 'string'), 'per quantization, as upstream');
  assert.ok('whisper' in (await api(server, 'GET', '/v1/engines/audio/whisper-tiny')).json);
  const none = await api(server, 'GET', '/v1/engines/LLM/no-such-model');
  assert.equal(none.status, 404);
  assert.match(none.json.detail, /no-such-model/);
});

test('the model cache: list, files, removal refused while in use, then done', async () => {
  const dir = join(server.home, 'cache', 'bge-small-en-v1.5');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bge-small-en-v1.5-f16.gguf');
  copyFileSync(EMBED_MODEL, file);
  const list = (await api(server, 'GET', '/v1/cache/models')).json.list;
  const entry = list.find((m) => m.model_name === 'bge-small-en-v1.5');
  assert.ok(entry, JSON.stringify(list));
  assert.equal(entry.model_format, 'ggufv2');
  assert.equal(entry.path, file);
  assert.equal(entry.quantization, 'F16');
  assert.ok(entry.size_bytes > 0);
  assert.equal((await api(server, 'GET', '/v1/cache/models?model_name=other')).json.list.length, 0);
  const version = entry.model_version;
  const files = (await api(server, 'GET', `/v1/cache/models/files?model_version=${encodeURIComponent(version)}`)).json;
  assert.deepEqual(files.paths, [file]);

  // Launched from the cache by its catalog name alone, the files are in use.
  await launch(server, { model_name: 'bge-small-en-v1.5', model_type: 'embedding', model_uid: 'cached-embed' });
  const refused = await api(server, 'DELETE', `/v1/cache/models?model_version=${encodeURIComponent(version)}`);
  assert.equal(refused.status, 409);
  assert.match(refused.json.detail, /cached-embed/);
  assert.ok(existsSync(file));
  await api(server, 'DELETE', '/v1/models/cached-embed');
  const removed = await api(server, 'DELETE', `/v1/cache/models?model_version=${encodeURIComponent(version)}`);
  assert.deepEqual(removed.json, { result: true });
  assert.ok(!existsSync(file));
  assert.deepEqual((await api(server, 'GET', `/v1/cache/models/files?model_version=${encodeURIComponent(version)}`)).json.paths, []);
});

test('replicas: add one (its id and uid), remove any one by id, the last one stays', async () => {
  await launch(server, { model_name: 'reps', model_path: CHAT_MODEL, replica: 2 });
  const before = (await api(server, 'GET', '/v1/models/reps')).json.replicas;
  const added = await api(server, 'POST', '/v1/models/reps/replicas', {});
  assert.equal(added.status, 200, added.text);
  assert.deepEqual(Object.keys(added.json).sort(), ['replica_id', 'replica_model_uid', 'worker_address']);
  assert.equal(added.json.replica_id, 2);
  assert.equal(added.json.replica_model_uid, 'reps-rep2');
  assert.ok(await waitFor(async () => (await api(server, 'GET', '/v1/models/reps')).json.replicas.every((r) => r.running), { timeout: 30000 }));

  const first = before.find((r) => r.index === 0);
  const removed = await api(server, 'DELETE', '/v1/models/reps/replicas/0');
  assert.deepEqual(removed.json, { remaining_replicas: 2 });
  assert.ok(await waitFor(() => !pidAlive(first.pid)), 'replica 0 stopped');
  const after = (await api(server, 'GET', '/v1/models/reps')).json;
  assert.deepEqual(after.replicas.map((r) => r.index), [1, 2], 'the others keep their ids');
  assert.equal(after.replica, 2);
  for (let i = 0; i < 4; i++)
    assert.equal((await api(server, 'POST', '/v1/chat/completions', { model: 'reps', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 })).status, 200);
  assert.equal((await api(server, 'DELETE', '/v1/models/reps/replicas/7')).status, 404);
  await api(server, 'DELETE', '/v1/models/reps/replicas/1');
  const last = await api(server, 'DELETE', '/v1/models/reps/replicas/2');
  assert.equal(last.status, 400);
  assert.match(last.json.detail, /last replica/);
  await api(server, 'DELETE', '/v1/models/reps');
});

// Streams a chat with a request_id; resolves with the SSE text once the stream ends.
function streamChat(body, onFirstChunk) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(`${server.url}/v1/chat/completions`, { method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': data.length } }, (res) => {
      let text = '';
      let first = true;
      res.on('data', (c) => { text += c; if (first) { first = false; onFirstChunk?.(); } });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.write(data);
    req.end();
  });
}

test('abort: a request with a request_id is stopped in the engine, its stream ends, the id is blocked', async () => {
  await launch(server, { model_name: 'abortable', model_path: CHAT_MODEL, n_parallel: 1 });
  const address = (await api(server, 'GET', '/v1/models/abortable')).json.replicas[0].address;
  const maxTokens = 3500;
  const busy = () => engineBusy(address);
  // Tokens the engine has decoded so far (llama-server's own counter).
  const decoded = async () => Number((await engine(address, 'GET', '/metrics', null, { raw: true }))
    .match(/^llamacpp:n_decode_total (\d+)/m)[1]);
  const start = await decoded();

  let aborted;
  const stream = streamChat({ model: 'abortable', messages: [{ role: 'user', content: 'hi' }], stream: true,
    max_tokens: maxTokens, ignore_eos: true, request_id: 'req-1' }, () => {
    aborted = api(server, 'POST', '/v1/models/abortable/requests/req-1/abort', { block_duration: 30 });
  });
  const { text } = await stream;
  assert.deepEqual((await aborted).json, { msg: 'DONE' });
  assert.match(text, /"code":"request_aborted"/, 'the stream ends with the reason');
  assert.ok(await waitFor(async () => !(await busy())), 'the engine stopped generating');
  const streamed = (await decoded()) - start;
  assert.ok(streamed > 0 && streamed < maxTokens, `the engine decoded ${streamed} of ${maxTokens} tokens, then stopped`);

  // The same id is refused while blocked; an unknown id is NOT_FOUND.
  const again = await api(server, 'POST', '/v1/chat/completions', { model: 'abortable', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, request_id: 'req-1' });
  assert.equal(again.status, 400);
  assert.match(again.json.detail, /aborted: req-1/);
  assert.deepEqual((await api(server, 'POST', '/v1/models/abortable/requests/nope/abort', { block_duration: 0 })).json, { msg: 'NOT_FOUND' });

  // A plain (non-streaming) request: the caller gets 499 at once and its engine connection is closed.
  // (llama-server notices the closed connection of a non-streaming request only at a one-second poll
  // that other engine traffic postpones, so when the engine stops is llama-server's, not asserted here.)
  const plain = api(server, 'POST', '/v1/chat/completions', { model: 'abortable', messages: [{ role: 'user', content: 'hi' }],
    max_tokens: maxTokens, ignore_eos: true, request_id: 'req-2' });
  // Block 0 while the request may not have reached xinfer yet: a miss must not refuse it later.
  assert.ok(await waitFor(async () => (await api(server, 'POST', '/v1/models/abortable/requests/req-2/abort',
    { block_duration: 0 })).json.msg === 'DONE'));
  const r = await plain;
  assert.equal(r.status, 499);
  assert.match(r.json.detail, /req-2 was aborted/);
  assert.equal((await api(server, 'POST', '/v1/models/nothing/requests/x/abort', {})).status, 404);
  await api(server, 'DELETE', '/v1/models/abortable');
});

test('convert_ids_to_tokens, vllm-supported, supervisor, address, workers, registrations of every type, GET /', async () => {
  await launch(server, { model_name: 'ids', model_type: 'embedding', model_path: EMBED_MODEL });
  // Xinference's embedding description: the fields beyond what every model has.
  const described = (await api(server, 'GET', '/v1/models/ids')).json;
  for (const k of ['accelerators', 'dimensions', 'max_tokens', 'language', 'model_hub', 'model_revision', 'quantization'])
    assert.ok(k in described, k);
  assert.equal(described.dimensions, 64);
  // A user's CUDA_VISIBLE_DEVICES in envs comes after xinfer's own, which the engine reads (the
  // first): accelerators stay what placement gave, and an odd value breaks no description.
  await launch(server, { model_name: 'env-gpus', model_type: 'embedding', model_path: EMBED_MODEL, envs: { CUDA_VISIBLE_DEVICES: '99999999999' } });
  assert.deepEqual((await api(server, 'GET', '/v1/models/env-gpus')).json.accelerators, []);
  assert.equal((await api(server, 'GET', '/v1/models')).status, 200);
  await api(server, 'DELETE', '/v1/models/env-gpus');
  const flat = await api(server, 'POST', '/v1/convert_ids_to_tokens', { model: 'ids', input: [101, 102] });
  assert.equal(flat.status, 200, flat.text);
  assert.deepEqual(flat.json, ['[CLS]', '[SEP]']);
  const nested = (await api(server, 'POST', '/v1/convert_ids_to_tokens', { model: 'ids', input: [[101], [102, 101]] })).json;
  assert.deepEqual(nested, [['[CLS]'], ['[SEP]', '[CLS]']]);
  assert.equal((await api(server, 'POST', '/v1/convert_ids_to_tokens', { model: 'ids', input: 'text' })).status, 400);
  await api(server, 'DELETE', '/v1/models/ids');

  assert.deepEqual((await api(server, 'GET', '/v1/models/vllm-supported')).json, { chat: [], generate: [] });
  assert.equal((await api(server, 'GET', '/v1/supervisor')).json.supervisor_ip, `127.0.0.1:${server.port}`);
  assert.equal((await api(server, 'GET', '/v1/address')).json, `127.0.0.1:${server.port}`);
  const workers = (await api(server, 'GET', '/v1/workers')).json;
  assert.ok(Array.isArray(workers) && 'work-ip' in workers[0] && 'models' in workers[0]);
  for (const type of ['image', 'video', 'flexible'])
    assert.deepEqual((await api(server, 'GET', `/v1/model_registrations/${type}?detailed=false`)).json, []);
  const llms = (await api(server, 'GET', '/v1/model_registrations/LLM?detailed=false')).json;
  assert.ok(llms.some((m) => m.model_name === 'qwen2.5-instruct' && m.is_builtin === true));

  // `/` leads to the web UI (a redirect still passes `curl -f` health checks).
  const root = await api(server, 'GET', '/');
  assert.equal(root.status, 307);
  assert.equal(root.headers.location, '/ui/');
  const ui = await api(server, 'GET', '/ui/');
  assert.equal(ui.status, 200);
  assert.match(ui.headers['content-type'], /text\/html/);
  assert.match(ui.text, /<title>xinfer<\/title>/);
});

test('clear 400s: a model xinfer cannot run, a GPU the machine lacks, a content part of the wrong type', async () => {
  const folder = scratchDir('CosyVoice-300M-');
  const cosy = await api(server, 'POST', '/v1/models', { model_name: 'CosyVoice-300M', model_type: 'audio', model_path: folder });
  assert.equal(cosy.status, 400);
  assert.match(cosy.json.detail, /'CosyVoice-300M' cannot be served by xinfer/);
  assert.match(cosy.json.detail, /whisper\.cpp.*flite/);
  assert.match(cosy.json.detail, /pocketsphinx-en-us/, 'it names the audio models xinfer has');
  const sense = await api(server, 'POST', '/v1/models', { model_name: 'SenseVoiceSmall', model_type: 'audio' });
  assert.equal(sense.status, 400);
  assert.match(sense.json.detail, /'SenseVoiceSmall' cannot be served/);

  const gpu = await api(server, 'POST', '/v1/models', { model_name: 'gpu-x', model_path: CHAT_MODEL, gpu_idx: [3] });
  assert.equal(gpu.status, 400);
  assert.match(gpu.json.detail, /gpu_idx 3 does not exist on this machine; it has no GPUs/);

  await launch(server, { model_name: 'parts', model_path: CHAT_MODEL });
  const part = await api(server, 'POST', '/v1/chat/completions', { model: 'parts',
    messages: [{ role: 'user', content: [{ type: 'text', text: 1 }] }] });
  assert.equal(part.status, 400);
  assert.match(part.json.detail, /messages\[0\]\.content\[0\]\.text must be a string/);
  const good = await api(server, 'POST', '/v1/chat/completions', { model: 'parts', max_tokens: 2,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
  assert.equal(good.status, 200);
  await api(server, 'DELETE', '/v1/models/parts');
});

test('DELETE /v1/clusters (stop-cluster) answers, then the service stops gracefully', async () => {
  const other = await startServer();
  try {
    const r = await api(other, 'DELETE', '/v1/clusters');
    assert.deepEqual(r.json, { result: true });
    const exit = await Promise.race([other.exited, sleep(20000).then(() => null)]);
    assert.ok(exit, 'the service exited');
    assert.equal(exit.code, 0);
  } finally {
    await other.stop();
  }
});

test('autostart: the client\'s list, summary, add and remove map onto models that come back at each start', async () => {
  const other = await startServer();
  try {
    const added = await api(other, 'POST', '/v1/autostart/models', { enabled: true,
      launch: { model_uid: 'auto-chat', model_name: 'qwen2.5-instruct', model_engine: 'llama.cpp', model_path: CHAT_MODEL, n_ctx: 512 } });
    assert.equal(added.status, 200, added.text);
    const entry = added.json.models.find((m) => m.launch.model_uid === 'auto-chat');
    assert.ok(entry && entry.enabled === true);
    assert.ok(await waitFor(async () => (await api(other, 'GET', '/v1/models/auto-chat')).json?.status === 'ready', { timeout: 30000 }),
      'added and launched now');
    assert.deepEqual((await api(other, 'GET', '/v1/autostart/models/summary')).json, { models: [{ enabled: true, model_uid: 'auto-chat' }] });
    assert.equal((await api(other, 'GET', '/v1/autostart/models')).json.models[0].state.instance_status, 'READY');

    // It comes back after a restart of the service.
    await other.stop({ keepHome: true });
    const again = await startServer({ home: other.home });
    try {
      assert.ok(await waitFor(async () => (await api(again, 'GET', '/v1/models/auto-chat')).json?.status === 'ready', { timeout: 30000 }));
      const removed = await api(again, 'DELETE', '/v1/autostart/models/auto-chat');
      assert.deepEqual(removed.json, { models: [] });
      assert.equal((await api(again, 'GET', '/v1/models/auto-chat')).json.status, 'ready', 'removal does not stop it');
    } finally {
      await again.stop();
    }
  } finally {
    await other.stop();
  }
});
