// The seed deployment Xinference users run (config.ini + install.sh, see the offline deployment
// reference) against xinfer on a 2-core machine with default settings: the whole stack
// (embedding, rerank, chat, TTS, STT) launches at once, every model answers, and a second run of
// the script launches nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, api, BIN, CHAT_MODEL, EMBED_MODEL, RERANK_MODEL, WHISPER_MODEL, scratchDir } from './helpers.mjs';

const INSTALL = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'seed-deploy', 'install.sh');
const deploy = scratchDir('xinfer-seed-');
const models = join(deploy, 'models');
let server;

function folder(name, file, source) {
  mkdirSync(join(models, name), { recursive: true });
  if (file) copyFileSync(source, join(models, name, file));
}

function config(extra = '') {
  const file = join(deploy, `config-${Math.random().toString(36).slice(2)}.ini`);
  writeFileSync(file, `# deployment settings
[XINFERENCE]
XINFERENCE_GPUS="0,1"
MODELS_VOLUMES_DIRECTORY=${models}

[EMBEDDING]
EMBEDDING_INSTALL_ENABLE=true
EMBEDDING_GPU=0

[RERANKER]
RERANKER_INSTALL_ENABLE=true
RERANKER_GPU=0

[LLM]
LLM_INSTALL_ENABLE=true
LLM_GPU=0

[TTS]
TTS_INSTALL_ENABLE=true
TTS_GPU=0
TTS_MODEL_NAME=flite

[STT]
STT_INSTALL_ENABLE=true
STT_GPU=1
STT_MODEL_NAME=whisper-tiny
${extra}`);
  return file;
}

function install(configFile) {
  const r = spawnSync('bash', [INSTALL, configFile], {
    env: { ...process.env, PATH: `${dirname(BIN)}:${process.env.PATH}`, XINFERENCE_ENDPOINT: server.url },
    encoding: 'utf8', timeout: 300000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

before(async () => {
  folder('bce-embedding-base_v1', 'bce-embedding-base_v1-f16.gguf', EMBED_MODEL);
  folder('bce-reranker-base_v1', 'bce-reranker-base_v1-f16.gguf', RERANK_MODEL);
  folder('qwen2.5-instruct', 'qwen2.5-0.5b-instruct-f16.gguf', CHAT_MODEL);
  folder('flite');
  folder('whisper-tiny', 'ggml-tiny.bin', WHISPER_MODEL);
  // A 2-core machine with the two GPUs config.ini names (simulated: the engines compute on the CPU).
  server = await startServer({ env: { XINFER_CPU_CORES: '2', XINFER_SIMULATED_GPUS: '0:Simulated GPU:16000,1:Simulated GPU:16000' } });
});
after(async () => server?.stop());

test('install.sh brings up the whole stack on 2 cores; every model answers', async () => {
  const first = install(config());
  assert.equal(first.code, 0, first.out);
  assert.equal((first.out.match(/^Launch model name: /gm) ?? []).length, 5, first.out);
  for (const uid of ['bce-embedding-base_v1', 'bce-reranker-base_v1', 'qwen2.5-instruct', 'flite', 'whisper-tiny'])
    assert.match(first.out, new RegExp(`^Model uid: ${uid.replace('.', '\\.')}$`, 'm'));

  const emb = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: '测试文本' });
  assert.equal(emb.status, 200, emb.text);
  const rr = await api(server, 'POST', '/v1/rerank', { model: 'bce-reranker-base_v1', query: 'q', documents: ['a', 'b'] });
  assert.equal(rr.status, 200, rr.text);
  const chat = await api(server, 'POST', '/v1/chat/completions', { model: 'qwen2.5-instruct', max_tokens: 4,
    messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(chat.status, 200, chat.text);
  const speech = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'flite', input: 'The meeting starts at ten.', response_format: 'wav' }) });
  assert.equal(speech.status, 200);
  const wav = await speech.blob();
  const form = new FormData();
  form.append('model', 'whisper-tiny');
  form.append('file', wav, 'speech.wav');
  const stt = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  assert.equal(stt.status, 200, await stt.text());

  // The GPUs the script asked for, and the cores: two engines hold them, the rest share.
  const held = (await api(server, 'GET', '/v1/cluster/info')).json[0].reservations;
  const gpus = Object.fromEntries(held.map((r) => [r.replica.split('#')[0], r.gpus]));
  assert.deepEqual(gpus['whisper-tiny'], [1]);
  assert.deepEqual(gpus['bce-embedding-base_v1'], [0]);
  assert.equal(held.filter((r) => r.shared_cores).length, 2, JSON.stringify(held));
});

test('a second run launches nothing', async () => {
  const pids = async () => (await api(server, 'GET', '/v1/models')).json.data.map((m) => `${m.id}:${m.replicas[0].pid}`).sort();
  const before = await pids();
  const again = install(config());
  assert.equal(again.code, 0, again.out);
  assert.doesNotMatch(again.out, /Launch model name/);
  assert.deepEqual(await pids(), before, 'the same engines still serve');
});

test('a model xinfer cannot run stops the script with a reason', async () => {
  mkdirSync(join(models, 'CosyVoice-300M'), { recursive: true });
  const r = install(config('[TTS2]\nTTS_MODEL_NAME=CosyVoice-300M\n'));
  assert.notEqual(r.code, 0);
  assert.match(r.out, /Model 'CosyVoice-300M' cannot be served by xinfer/);
});
