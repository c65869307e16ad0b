// Models that arrive from a hub: a launch by name downloads the files it needs into the cache,
// then serves them. The hub is a local fake that speaks Hugging Face's and ModelScope's file
// APIs (tests/e2e/fake_hub.mjs) and misbehaves on demand; xinfer's real download code talks to
// it through HF_ENDPOINT / MODELSCOPE_ENDPOINT, as it would to a mirror.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, launch, api, waitFor, BIN, CHAT_MODEL, EMBED_MODEL, WHISPER_MODEL, scratchDir } from './helpers.mjs';
import { startFakeHub } from './fake_hub.mjs';

const run = promisify(execFile);
let hub, server;
const hfCache = scratchDir('xinfer-hf-cache-');
const chat = readFileSync(CHAT_MODEL);
const embed = readFileSync(EMBED_MODEL);

// A registration as a user (or Xinference's catalog) writes it: hub ids and a file template.
function spec(name, repo, { ability = ['chat'], hubs = ['huggingface'] } = {}) {
  const src = { model_id: repo, quantizations: ['Q8_0', 'F16'], model_file_name_template: `${name}-{quantization}.gguf` };
  return { version: 2, model_name: name, context_length: 2048, model_lang: ['en'], model_ability: ability,
    model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 0, model_src: Object.fromEntries(hubs.map((h) => [h, src])) }] };
}
async function register(type, s, persist = false) {
  const r = await api(server, 'POST', `/v1/model_registrations/${type}`, { model: JSON.stringify(s), persist });
  assert.equal(r.status, 200, r.text);
}
const cacheDir = (name) => join(server.home, 'cache', name);
const cacheFiles = (name) => (existsSync(cacheDir(name)) ? readdirSync(cacheDir(name)).filter((f) => !f.startsWith('.xinfer-download.lock')) : []);
const events = async (uid) => (await api(server, 'GET', `/v1/models/${uid}/events`)).json.map((e) => e.event);

before(async () => {
  hub = await startFakeHub({
    'test-org/tiny-chat-GGUF': { files: { 'tiny-chat-Q8_0.gguf': chat, 'README.md': Buffer.from('# tiny chat\n') } },
    'test-org/tiny-embed-GGUF': { files: { 'tiny-embed-Q8_0.gguf': embed } },
    'test-org/gated-GGUF': { files: { 'gated-Q8_0.gguf': chat }, gated: true },
    // Repositories xinfer's built-in catalog names, holding the tiny test models under the real
    // file names: the exact commands Xinference users type work against them.
    'Qwen/Qwen2.5-0.5B-Instruct-GGUF': { files: { 'qwen2.5-0.5b-instruct-q4_k_m.gguf': chat } },
    'ggerganov/whisper.cpp': { files: { 'ggml-tiny.bin': readFileSync(WHISPER_MODEL) } },
  });
  // Retries and the stall timeout short, so the failure cases finish quickly.
  server = await startServer({ env: { HF_ENDPOINT: hub.url, MODELSCOPE_ENDPOINT: hub.url, XINFER_HUB_STALL_TIMEOUT: '2',
    XINFER_HUB_RETRIES: '3', HF_TOKEN: '', LANG: 'C.UTF-8', XINFERENCE_MODEL_SRC: '', HF_HUB_CACHE: hfCache } });
});
after(async () => {
  await server?.stop();
  await hub?.stop();
  rmSync(hfCache, { recursive: true, force: true });
});

// Whether the service process has libcurl mapped: it is opened by the first download only, so
// that a service that never downloads does not carry its twenty-odd libraries.
const curlLoaded = () => /\/libcurl[^/\n]*\.so/.test(readFileSync(`/proc/${server.proc.pid}/maps`, 'utf8'));

test('a launch by name downloads exactly the file it needs, then serves it; the next launch uses the cache', async () => {
  await register('LLM', spec('tiny-chat', 'test-org/tiny-chat-GGUF'));
  hub.log.length = 0;
  assert.equal(curlLoaded(), false, 'libcurl is not loaded before the first download');
  const uid = await launch(server, { model_name: 'tiny-chat', model_size_in_billions: 0, quantization: 'q8_0' });
  assert.equal(curlLoaded(), true, 'the download loaded libcurl');
  const ev = await events(uid);
  assert.ok(ev.includes('downloading') && ev.includes('downloaded'), JSON.stringify(ev));
  assert.deepEqual(hub.fileRequests().length, 1, 'one file fetched (not the README)');
  assert.ok(readFileSync(join(cacheDir('tiny-chat'), 'tiny-chat-Q8_0.gguf')).equals(chat));
  const d = (await api(server, 'GET', `/v1/models/${uid}`)).json;
  assert.equal(d.quantization, 'Q8_0', 'the catalog\'s spelling of the quantization');
  assert.equal(d.download.state, 'downloaded');
  assert.equal(d.download.bytes_total, chat.length);
  assert.equal(d.download.revision, hub.commit);
  const r = await api(server, 'POST', '/v1/chat/completions', { model: uid, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  assert.equal(r.status, 200, r.text);
  const manifest = JSON.parse(readFileSync(join(cacheDir('tiny-chat'), '.xinfer-download.json'), 'utf8'))['tiny-chat-Q8_0.gguf'];
  assert.equal(manifest.revision, hub.commit);
  assert.equal(manifest.repo, 'test-org/tiny-chat-GGUF');
  const cached = (await api(server, 'GET', '/v1/cache/models?model_name=tiny-chat')).json.list;
  assert.equal(cached.length, 1);
  assert.equal(cached[0].revision, hub.commit);
  assert.equal(cached[0].hub, 'huggingface');
  assert.equal(cached[0].size_bytes, chat.length);
  await api(server, 'DELETE', `/v1/models/${uid}`);

  hub.log.length = 0;
  const again = await launch(server, { model_name: 'tiny-chat', quantization: 'Q8_0' });
  assert.equal(hub.log.length, 0, 'found in the cache: no request to the hub');
  await api(server, 'DELETE', `/v1/models/${again}`);
  // remove-cache takes the file and xinfer's bookkeeping with it.
  const removed = await api(server, 'DELETE', '/v1/cache/models?model_version=tiny-chat--tiny-chat-Q8_0.gguf');
  assert.equal(removed.status, 200, removed.text);
  assert.ok(!existsSync(cacheDir('tiny-chat')));
});

test('a connection cut halfway resumes where it stopped; 429 (Retry-After) and 500 are retried', async () => {
  await register('embedding', spec('tiny-embed', 'test-org/tiny-embed-GGUF', { ability: ['embed'] }));
  hub.log.length = 0;
  hub.faults.push({ kind: '429', retryAfter: 1 }, { kind: '500' }, { kind: 'cut' });
  const t0 = Date.now();
  const uid = await launch(server, { model_name: 'tiny-embed', model_type: 'embedding' });
  assert.ok(Date.now() - t0 >= 1000, 'waited for Retry-After');
  const transfers = hub.fileRequests();
  assert.equal(transfers.length, 4, JSON.stringify(transfers));
  const resumed = transfers.at(-1);
  assert.match(resumed.range ?? '', /^bytes=\d+-$/, 'the last request resumes with a Range');
  assert.ok(Number(/\d+/.exec(resumed.range)[0]) > 0);
  assert.ok(readFileSync(join(cacheDir('tiny-embed'), 'tiny-embed-Q8_0.gguf')).equals(embed), 'the resumed file is whole and exact');
  const e = await api(server, 'POST', '/v1/embeddings', { model: uid, input: 'hello' });
  assert.equal(e.status, 200, e.text);
  await api(server, 'DELETE', `/v1/models/${uid}`);
});

test('a corrupted byte is refused by its SHA-256, and nothing lands in the cache', async () => {
  await register('LLM', spec('tiny-corrupt', 'test-org/tiny-chat-GGUF'));
  // The template names the chat repo's file through a registration of another name.
  const s = spec('tiny-corrupt', 'test-org/tiny-chat-GGUF');
  s.model_specs[0].model_src.huggingface.model_file_name_template = 'tiny-chat-{quantization}.gguf';
  await api(server, 'DELETE', '/v1/model_registrations/LLM/tiny-corrupt');
  await register('LLM', s);
  hub.faults.push({ kind: 'corrupt' });
  const r = await api(server, 'POST', '/v1/models', { model_name: 'tiny-corrupt', wait_ready: true });
  assert.notEqual(r.status, 200);
  assert.match(r.text, /tiny-chat-Q8_0\.gguf is corrupt: its SHA-256 is [0-9a-f]{64}, the hub lists [0-9a-f]{64}/);
  assert.deepEqual(cacheFiles('tiny-corrupt'), [], 'no file and no .incomplete left');
  await api(server, 'DELETE', '/v1/models/tiny-corrupt');
});

test('a stalled server times out with a clear error; a download can be cancelled and leaves nothing', async () => {
  const s = spec('tiny-stall', 'test-org/tiny-chat-GGUF');
  s.model_specs[0].model_src.huggingface.model_file_name_template = 'tiny-chat-{quantization}.gguf';
  await register('LLM', s);
  hub.stallForever = true;
  try {
    const r = await api(server, 'POST', '/v1/models', { model_name: 'tiny-stall', wait_ready: true });
    assert.notEqual(r.status, 200);
    assert.match(r.text, /cannot download tiny-stall: .*Operation too slow.*\(after 3 attempts\)/i);
    await api(server, 'DELETE', '/v1/models/tiny-stall');

    // Cancel: the stalled transfer is running when the cancel comes.
    const started = await api(server, 'POST', '/v1/models', { model_name: 'tiny-stall', wait_ready: false });
    assert.equal(started.status, 200, started.text);
    await waitFor(async () => (await api(server, 'GET', '/v1/models/tiny-stall/progress')).json.stage === 'downloading');
    const progress = (await api(server, 'GET', '/v1/models/tiny-stall/progress')).json;
    assert.equal(progress.download.bytes_total, chat.length);
    assert.equal(progress.download_files[0].path, 'tiny-chat-Q8_0.gguf');
    const c = await api(server, 'POST', '/v1/models/tiny-stall/cancel');
    assert.equal(c.status, 200, c.text);
    await waitFor(() => cacheFiles('tiny-stall').length === 0, { timeout: 5000 });
    assert.equal((await api(server, 'GET', '/v1/models/tiny-stall')).status, 404);
  } finally {
    hub.stallForever = false;
  }
});

test('a gated repository without a token is a clear 400 naming HF_TOKEN; with the token it downloads', async () => {
  await register('LLM', spec('gated', 'test-org/gated-GGUF'), true);  // persisted: the CLI reads it too
  const r = await api(server, 'POST', '/v1/models', { model_name: 'gated' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /test-org\/gated-GGUF .* is gated or private \(HTTP 401\).*set HF_TOKEN/);
  // The CLI fetches without launching, into the same cache; the token comes from the environment.
  const out = await run(BIN, ['download', 'gated', '-q', 'q8_0'], { env: { ...process.env, XINFER_HOME: server.home, HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_test_token' } });
  assert.match(out.stdout, /gated: test-org\/gated-GGUF@0123456789ab from huggingface/);
  assert.ok(readFileSync(join(cacheDir('gated'), 'gated-Q8_0.gguf')).equals(chat));
  assert.ok(hub.log.some((e) => e.auth === 'Bearer hf_test_token'));
  const cached = (await api(server, 'GET', '/v1/cache/models')).json.list.map((m) => m.model_name);
  assert.ok(cached.includes('gated'), JSON.stringify(cached));
});

test('two launches of one model at once download it once', async () => {
  const s = spec('tiny-twice', 'test-org/tiny-chat-GGUF');
  s.model_specs[0].model_src.huggingface.model_file_name_template = 'tiny-chat-{quantization}.gguf';
  await register('LLM', s);
  hub.log.length = 0;
  const [a, b] = await Promise.all([
    api(server, 'POST', '/v1/models', { model_name: 'tiny-twice', model_uid: 'twice-a', wait_ready: true }),
    api(server, 'POST', '/v1/models', { model_name: 'tiny-twice', model_uid: 'twice-b', wait_ready: true }),
  ]);
  assert.equal(a.status, 200, a.text);
  assert.equal(b.status, 200, b.text);
  assert.equal(hub.fileRequests().length, 1, JSON.stringify(hub.fileRequests()));
  for (const uid of ['twice-a', 'twice-b']) await api(server, 'DELETE', `/v1/models/${uid}`);
});

test('ModelScope: download_hub picks it, with its own file API and SHA-256', async () => {
  const s = spec('tiny-ms', 'test-org/tiny-chat-GGUF', { hubs: ['huggingface', 'modelscope'] });
  for (const h of ['huggingface', 'modelscope']) s.model_specs[0].model_src[h].model_file_name_template = 'tiny-chat-{quantization}.gguf';
  await register('LLM', s);
  hub.log.length = 0;
  const uid = await launch(server, { model_name: 'tiny-ms', download_hub: 'modelscope' });
  assert.ok(hub.log.every((e) => e.url.startsWith('/api/v1/models/')), JSON.stringify(hub.log.map((e) => e.url)));
  assert.equal((await api(server, 'GET', `/v1/models/${uid}`)).json.download.hub, 'modelscope');
  await api(server, 'DELETE', `/v1/models/${uid}`);
});

test('files already in Hugging Face\'s own cache are used where they are, without a request', async () => {
  const snapshot = join(hfCache, 'models--test-org--elsewhere-GGUF', 'snapshots', hub.commit);
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(hfCache, 'models--test-org--elsewhere-GGUF', 'refs'), { recursive: true });
  writeFileSync(join(hfCache, 'models--test-org--elsewhere-GGUF', 'refs', 'main'), hub.commit);
  writeFileSync(join(snapshot, 'elsewhere-Q8_0.gguf'), chat);
  await register('LLM', spec('elsewhere', 'test-org/elsewhere-GGUF'));
  hub.log.length = 0;
  const uid = await launch(server, { model_name: 'elsewhere', quantization: 'q8_0' });
  assert.equal(hub.log.length, 0);
  assert.equal((await api(server, 'GET', `/v1/models/${uid}`)).json.model_path, join(snapshot, 'elsewhere-Q8_0.gguf'));
  assert.ok(!existsSync(cacheDir('elsewhere')), 'no copy in xinfer\'s cache');
  await api(server, 'DELETE', `/v1/models/${uid}`);
});

test('Xinference\'s own command launches a catalog LLM and a catalog whisper model straight from the hub', async () => {
  hub.log.length = 0;
  const XINFERENCE = join(BIN, '..', 'xinference');
  const out = await run(XINFERENCE, ['launch', '--model-name', 'qwen2.5-instruct', '--model-type', 'LLM', '-s', '0_5', '-f', 'ggufv2', '-q', 'Q4_K_M'],
    { env: { ...process.env, XINFERENCE_ENDPOINT: server.url } });
  assert.match(out.stdout, /Model uid: qwen2.5-instruct/);
  const d = (await api(server, 'GET', '/v1/models/qwen2.5-instruct')).json;
  assert.equal(d.download.repo, 'Qwen/Qwen2.5-0.5B-Instruct-GGUF');
  assert.equal(d.quantization, 'q4_k_m');
  const w = await launch(server, { model_name: 'whisper-tiny', model_type: 'audio' });
  assert.ok(existsSync(join(cacheDir('whisper-tiny'), 'ggml-tiny.bin')));
  assert.equal((await api(server, 'GET', `/v1/models/${w}`)).json.model_engine, 'whisper');
  for (const uid of ['qwen2.5-instruct', w]) await api(server, 'DELETE', `/v1/models/${uid}`);
});

test('mirrors are tried in order: an unreachable one gives way to the next', async () => {
  const s = spec('tiny-mirror', 'test-org/tiny-chat-GGUF');
  s.model_specs[0].model_src.huggingface.model_file_name_template = 'tiny-chat-{quantization}.gguf';
  await register('LLM', s, true);  // persisted: the CLI reads the registrations too
  // Port 9 (discard) refuses: the first mirror is unreachable, HF_ENDPOINT answers.
  const ok = await run(BIN, ['download', 'tiny-mirror'], { env: { ...process.env, XINFER_HOME: server.home,
    XINFER_HUB_MIRRORS: 'http://127.0.0.1:9', HF_ENDPOINT: hub.url, XINFER_HUB_RETRIES: '1' } });
  assert.ok(ok.stdout.includes(`from huggingface (${hub.url})`), ok.stdout);
  assert.ok(readFileSync(join(cacheDir('tiny-mirror'), 'tiny-chat-Q8_0.gguf')).equals(chat));
});

// A launch of a hub model named `name` on a second service started with `env`, the hub's log
// cleared first; `check(response, service)` runs before that service stops.
async function launchOnServiceWith(env, name, check) {
  const other = await startServer({ env: { HF_ENDPOINT: hub.url, ...env } });
  try {
    const r0 = await api(other, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(spec(name, 'test-org/tiny-chat-GGUF')), persist: false });
    assert.equal(r0.status, 200, r0.text);
    hub.log.length = 0;
    await check(await api(other, 'POST', '/v1/models', { model_name: name }), other);
  } finally {
    await other.stop();
  }
}

test('offline mode opens no connection and names the missing file', async () => {
  await launchOnServiceWith({ XINFER_OFFLINE: '1' }, 'tiny-off', (r) => {
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /offline mode \(XINFER_OFFLINE=1\): model tiny-off needs tiny-off-Q8_0\.gguf in .*cache\/tiny-off/);
    assert.equal(hub.log.length, 0, 'the hub saw nothing');
  });
});

test('without libcurl a download fails at once with the package to install, and leaves nothing', async () => {
  await launchOnServiceWith({ XINFER_LIBCURL: '/nonexistent/libcurl.so.4' }, 'tiny-nocurl', async (r, bare) => {
    assert.notEqual(r.status, 200, r.text);
    assert.match(r.text, /downloads need libcurl \(Debian package libcurl4\)/);
    assert.doesNotMatch(r.text, /no hub answered|HF_ENDPOINT/, 'not worded as an unreachable hub');
    assert.equal(hub.log.length, 0, 'the hub saw nothing');
    const dir = join(bare.home, 'cache', 'tiny-nocurl');
    assert.deepEqual(existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.xinfer-download.lock')) : [], [], 'no file and no .incomplete left');
    assert.equal((await api(bare, 'GET', '/status')).status, 200, 'the service is still up');
  });
});
