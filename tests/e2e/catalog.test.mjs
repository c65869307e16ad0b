// Catalog parity with Xinference: every model name of Xinference's built-in catalog is in xinfer's
// under the same name and type (catalog/upstream/xinference-names.json is derived from
// Xinference's spec files by scripts/catalog/derive_catalog.py), every entry is well formed, and
// names launch end to end from a local fake hub holding the tiny test models under the real
// repositories and file names: GGUF files, a Hugging Face BERT folder that xinfer downloads and
// converts, a whisper folder. Names xinfer cannot serve are a 400 that says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, rmSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launch, api, cli, CHAT_MODEL, RERANK_MODEL, WHISPER_MODEL, QWEN3_ASR_MODEL, QWEN3_TTS_MODEL, scratchDir } from './helpers.mjs';
import { startFakeHub } from './fake_hub.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const FIXTURES = join(HERE, '..', 'fixtures', 'hf');
const PYTHON = '/usr/bin/python3';
const catalog = (type) => JSON.parse(readFileSync(join(ROOT, 'catalog', `${type}.json`), 'utf8'));
const upstream = JSON.parse(readFileSync(join(ROOT, 'catalog', 'upstream', 'xinference-names.json'), 'utf8'));
const scratch = scratchDir('xinfer-catalog-');
let hub, server;

// Every file under dir, as the hub serves a repository: { 'path/in/repo': Buffer }.
function repoFiles(dir, extra = {}) {
  const out = {};
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p);
    }
  };
  walk(dir);
  return { ...out, ...extra };
}

before(async () => {
  const bert = join(scratch, 'bge-small-zh');
  execFileSync(PYTHON, [join(FIXTURES, 'make_hf_bert.py'), bert, join(process.env.LLAMA_SRC, 'models', 'ggml-vocab-bert-bge.gguf'),
    join(process.env.LLAMA_SRC, 'gguf-py')]);
  const whisper = join(scratch, 'belle');
  execFileSync(PYTHON, [join(FIXTURES, 'whisper_hf.py'), 'make', WHISPER_MODEL, whisper]);
  hub = await startFakeHub({
    // The repositories the catalog names, holding the tiny models under the real file names.
    'unsloth/Qwen3-0.6B-GGUF': { files: { 'Qwen3-0.6B-Q4_K_M.gguf': readFileSync(CHAT_MODEL) } },
    'Voodisss/Qwen3-Reranker-0.6B-GGUF-llama_cpp': { files: { 'Qwen3-Reranker-0.6B.Q8_0.gguf': readFileSync(RERANK_MODEL) } },
    // A Hugging Face folder as the hub has it, with copies in formats xinfer must not fetch.
    'BAAI/bge-small-zh': { files: repoFiles(bert, { 'onnx/model.onnx': Buffer.alloc(4096, 1), 'README.md': Buffer.from('# bge\n'),
      '1_Pooling/config.json': Buffer.from('{"pooling_mode_cls_token": true}') }) },
    'BELLE-2/Belle-whisper-large-v3-zh': { files: repoFiles(whisper) },
    // llama.cpp's audio models: the model and its audio projector, under ggml-org's file names.
    'ggml-org/Qwen3-ASR-0.6B-GGUF': { files: { 'Qwen3-ASR-0.6B-Q8_0.gguf': readFileSync(join(QWEN3_ASR_MODEL, 'model.gguf')),
      'mmproj-Qwen3-ASR-0.6B-Q8_0.gguf': readFileSync(join(QWEN3_ASR_MODEL, 'mmproj-model.gguf')),
      'Qwen3-ASR-0.6B-F16.gguf': Buffer.alloc(8192, 3) } },
    'ggml-org/Qwen3-TTS-12Hz-1.7B-Base-GGUF': { files: { 'Qwen3-TTS-12Hz-1.7B-Base-Q8_0.gguf': readFileSync(join(QWEN3_TTS_MODEL, 'model.gguf')),
      'mmproj-Qwen3-TTS-12Hz-1.7B-Base-Q8_0.gguf': readFileSync(join(QWEN3_TTS_MODEL, 'mmproj-model.gguf')) } },
  });
  server = await startServer({ env: { HF_ENDPOINT: hub.url, MODELSCOPE_ENDPOINT: hub.url, XINFERENCE_MODEL_SRC: '', HF_TOKEN: '',
    HF_HUB_CACHE: join(scratch, 'hf-cache') } });
});
after(async () => {
  await server?.stop();
  await hub?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const TYPES = [['llm', 'LLM'], ['embedding', 'embedding'], ['rerank', 'rerank'], ['audio', 'audio']];

test('every model name of Xinference\'s catalog is registered in xinfer under the same name and type', async () => {
  // Xinference's catalog at the recorded commit: 81 LLM families with GGUF files, 43 embedding
  // models, 17 rerankers, whisper variants among 56 audio names.
  assert.ok(upstream.llm.length >= 81 && upstream.embedding.length >= 43 && upstream.rerank.length >= 17, JSON.stringify(upstream).slice(0, 200));
  for (const [type, apiType] of TYPES) {
    const r = await api(server, 'GET', `/v1/model_registrations/${apiType}`);
    assert.equal(r.status, 200);
    const names = new Set(r.json.map((m) => m.model_name));
    assert.deepEqual(upstream[type].filter((n) => !names.has(n)), [], `${type}: names missing`);
    assert.ok(r.json.every((m) => m.is_builtin === true || !upstream[type].includes(m.model_name)));
  }
  // Names our users' documents use, including ones Xinference has since dropped.
  for (const [type, name] of [['LLM', 'chatglm3'], ['embedding', 'bge-large-zh'], ['embedding', 'text2vec-large-chinese'],
    ['LLM', 'qwen2.5-coder-instruct'], ['audio', 'Belle-whisper-large-v3-zh']]) {
    const r = await api(server, 'GET', `/v1/model_registrations/${type}/${name}`);
    assert.equal(r.status, 200, `${type}/${name}: ${r.text}`);
    assert.equal(r.json.is_builtin, true);
  }
  const whispers = upstream.audio.filter((n) => /whisper/i.test(n));
  const audio = catalog('audio');
  for (const n of whispers) assert.equal(audio.find((m) => m.model_name === n)?.launchable, true, n);
});

test('every catalog entry is well formed: file names for every quantization, sizes, abilities, reasons', () => {
  const ABILITIES = new Set(['chat', 'generate', 'tools', 'reasoning', 'hybrid']);
  const sizeOk = (s) => (typeof s === 'number' && s >= 0) || /^\d+(_\d+)?$/.test(String(s));
  const fileNames = (src, q) => {
    if (src.model_file_name) return [src.model_file_name];
    if (src.quantization_parts?.[q] && src.model_file_name_split_template)
      return src.quantization_parts[q].map((part) => src.model_file_name_split_template.replaceAll('{quantization}', q).replaceAll('{part}', part));
    return src.model_file_name_template ? [src.model_file_name_template.replaceAll('{quantization}', q)] : [];
  };
  for (const fam of catalog('llm')) {
    const where = `LLM ${fam.model_name}`;
    assert.ok(Number.isInteger(fam.context_length) && fam.context_length > 0, where);
    assert.ok(fam.model_lang.length > 0 && fam.model_ability.length > 0, where);
    for (const a of fam.model_ability) assert.ok(ABILITIES.has(a), `${where}: ability ${a}`);
    assert.ok(fam.model_specs.length > 0, where);
    for (const spec of fam.model_specs) {
      assert.equal(spec.model_format, 'ggufv2', where);
      assert.ok(sizeOk(spec.model_size_in_billions), `${where}: size ${spec.model_size_in_billions}`);
      for (const [hubName, src] of Object.entries(spec.model_src ?? {})) {
        assert.match(src.model_id, /^[\w.-]+\/[\w.-]+$/, `${where} ${hubName}`);
        assert.ok(src.quantizations.length > 0, where);
        for (const q of src.quantizations) {
          const names = fileNames(src, q);
          assert.ok(names.length > 0, `${where} ${hubName} ${q}: no file name`);
          for (const n of names) assert.match(n, /^[^{}]+\.gguf$/, `${where} ${hubName} ${q}: ${n}`);
        }
      }
    }
  }
  for (const type of ['embedding', 'rerank']) {
    for (const m of catalog(type)) {
      const where = `${type} ${m.model_name}`;
      assert.equal(typeof m.launchable, 'boolean', where);
      if (!m.launchable) assert.ok(m.reason.length > 20, where);
      else assert.ok(m.model_specs.some((s) => s.model_format === 'ggufv2' || s.model_format === 'pytorch'), where);
      if (type === 'embedding' && m.launchable) assert.ok(Number.isInteger(m.dimensions ?? 0), where);
      for (const spec of m.model_specs)
        for (const [hubName, src] of Object.entries(spec.model_src ?? {})) {
          assert.match(src.model_id, /^[\w.-]+\/[\w.-]+$/, `${where} ${hubName}`);
          if (spec.model_format === 'ggufv2')
            for (const q of src.quantizations) assert.match(fileNames(src, q)[0] ?? '', /\.gguf$/, `${where} ${q}`);
        }
    }
  }
  for (const m of catalog('audio')) {
    assert.equal(typeof m.launchable, 'boolean', m.model_name);
    if (!m.launchable) assert.ok(m.reason.length > 20, m.model_name);
    else assert.ok(m.model_src, m.model_name);
  }
});

test('catalog names launch by name from the hub: a GGUF chat model, a reranker split over two entries, and the CLI shows them', async () => {
  const chat = await launch(server, { model_name: 'qwen3', model_size_in_billions: '0_6', quantization: 'Q4_K_M' });
  const r = await api(server, 'POST', '/v1/chat/completions', { model: chat, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  assert.equal(r.status, 200, r.text);
  const info = (await api(server, 'GET', `/v1/models/${chat}`)).json;
  assert.equal(info.model_name, 'qwen3');
  assert.deepEqual([...info.model_ability].sort(), ['chat', 'hybrid', 'reasoning', 'tools']);
  await api(server, 'DELETE', `/v1/models/${chat}`);

  // Xinference lists this reranker's Q8_0 file in a second entry with another file-name template.
  const rr = await launch(server, { model_name: 'Qwen3-Reranker-0.6B', model_type: 'rerank', quantization: 'Q8_0' });
  const ranked = await api(server, 'POST', '/v1/rerank', { model: rr, query: 'capital of France', documents: ['Paris', 'bananas'] });
  assert.equal(ranked.status, 200, ranked.text);
  assert.equal(ranked.json.results.length, 2);
  await api(server, 'DELETE', `/v1/models/${rr}`);

  const engines = cli(server, ['engine', '-n', 'qwen3']);
  assert.equal(engines.code, 0, engines.stderr);
  assert.match(engines.stdout, /llama\.cpp/);
  assert.match(engines.stdout, /0_6/);
  const regs = cli(server, ['registrations', '-t', 'embedding']);
  assert.equal(regs.code, 0, regs.stderr);
  for (const name of ['bge-large-zh', 'text2vec-large-chinese', 'Qwen3-Embedding-0.6B']) assert.match(regs.stdout, new RegExp(name));
});

test('an embedding model Xinference has only as Hugging Face weights downloads as a folder, converts and serves', async () => {
  hub.log.length = 0;
  const uid = await launch(server, { model_name: 'bge-small-zh', model_type: 'embedding' });
  const fetched = hub.fileRequests().map((e) => e.url);
  const listed = hub.log.filter((e) => e.url.includes('/resolve/')).map((e) => decodeURIComponent(e.url.split('/resolve/')[1]));
  assert.ok(listed.some((p) => p.endsWith('config.json')) && listed.some((p) => p.endsWith('.safetensors')), JSON.stringify(listed));
  assert.ok(!listed.some((p) => p.includes('onnx') || p.endsWith('README.md')), `fetched what it must not: ${JSON.stringify(listed)}`);
  assert.ok(fetched.length >= 3);
  const ev = (await api(server, 'GET', `/v1/models/${uid}/events`)).json.map((e) => e.event);
  for (const e of ['downloading', 'downloaded', 'converting', 'converted']) assert.ok(ev.includes(e), JSON.stringify(ev));
  const r = await api(server, 'POST', '/v1/embeddings', { model: uid, input: ['巴黎是法国的首都。', 'hello'] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.length, 2);
  const cfg = JSON.parse(readFileSync(join(server.home, 'cache', 'bge-small-zh', 'config.json'), 'utf8'));
  assert.equal(r.json.data[0].embedding.length, cfg.hidden_size);
  await api(server, 'DELETE', `/v1/models/${uid}`);
  // The next launch takes the folder from the cache: nothing fetched again.
  hub.log.length = 0;
  const again = await launch(server, { model_name: 'bge-small-zh', model_type: 'embedding' });
  assert.equal(hub.fileRequests().length, 0);
  await api(server, 'DELETE', `/v1/models/${again}`);
});

test('Belle-whisper-large-v3-zh (Hugging Face whisper) downloads, converts to whisper.cpp and transcribes', async () => {
  const uid = await launch(server, { model_name: 'Belle-whisper-large-v3-zh', model_type: 'audio' });
  const info = (await api(server, 'GET', `/v1/models/${uid}`)).json;
  assert.deepEqual(info.model_ability, ['audio2text']);
  const tts = await launch(server, { model_name: 'flite', model_type: 'audio' });
  const speech = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: tts, input: 'Hello there.', response_format: 'wav' }) });
  assert.equal(speech.status, 200);
  const form = new FormData();
  form.append('model', uid);
  form.append('file', new Blob([await speech.arrayBuffer()]), 'hello.wav');
  const t = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  assert.equal(t.status, 200, await t.clone().text());
  assert.equal(typeof (await t.json()).text, 'string');
  for (const m of [uid, tts]) await api(server, 'DELETE', `/v1/models/${m}`);
});

test('Qwen3-ASR-0.6B downloads its model and audio projector by name and transcribes', async () => {
  const uid = await launch(server, { model_name: 'Qwen3-ASR-0.6B', model_type: 'audio' });
  const info = (await api(server, 'GET', `/v1/models/${uid}`)).json;
  assert.equal(info.model_engine, 'mtmd');
  const cached = readdirSync(join(server.home, 'cache', 'Qwen3-ASR-0.6B')).filter((f) => f.endsWith('.gguf')).sort();
  assert.deepEqual(cached, ['Qwen3-ASR-0.6B-Q8_0.gguf', 'mmproj-Qwen3-ASR-0.6B-Q8_0.gguf'], 'both files, not the other quantization');
  const tts = await launch(server, { model_name: 'flite', model_type: 'audio' });
  const speech = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: tts, input: 'Hello there.', response_format: 'wav' }) });
  const form = new FormData();
  form.append('model', uid);
  form.append('file', new Blob([await speech.arrayBuffer()]), 'hello.wav');
  const t = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  assert.equal(t.status, 200, await t.clone().text());
  assert.ok((await t.json()).text.length > 0);
  for (const m of [uid, tts]) await api(server, 'DELETE', `/v1/models/${m}`);
  // The next launch finds both files in the cache.
  const again = await launch(server, { model_name: 'Qwen3-ASR-0.6B', model_type: 'audio' });
  assert.equal((await api(server, 'GET', `/v1/models/${again}`)).json.download ?? null, null);
  await api(server, 'DELETE', `/v1/models/${again}`);
});

test('Qwen3-TTS-12Hz-1.7B-Base downloads its talker and projector by name and speaks', async () => {
  const uid = await launch(server, { model_name: 'Qwen3-TTS-12Hz-1.7B-Base', model_type: 'audio', quantization: 'Q8_0' });
  assert.equal((await api(server, 'GET', `/v1/models/${uid}`)).json.model_engine, 'mtmd-tts');
  const r = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: uid, input: 'Hello.', response_format: 'wav', language: 'zh' }) });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(Buffer.from(await r.arrayBuffer()).readUInt32LE(24), 24000);
  await api(server, 'DELETE', `/v1/models/${uid}`);
});

test('names xinfer cannot serve are listed with the reason, and launching them is a 400 that says why', async () => {
  const clip = await api(server, 'GET', '/v1/model_registrations/embedding/jina-clip-v2');
  assert.equal(clip.json.launchable, false);
  const cases = [
    [{ model_name: 'jina-clip-v2', model_type: 'embedding' }, /cannot be served by xinfer: .*JinaCLIPModel/],
    [{ model_name: 'SenseVoiceSmall', model_type: 'audio' }, /cannot be served by xinfer: .*FunASR/],
    [{ model_name: 'CosyVoice2-0.5B', model_type: 'audio' }, /cannot be served by xinfer: .*CosyVoice/],
    [{ model_name: 'bge-reranker-v2-gemma', model_type: 'rerank' }, /cannot be served by xinfer: .*GemmaForCausalLM/],
    // chatglm3: no hub has its GGUF in the catalog; it runs from the user's file.
    [{ model_name: 'chatglm3', model_type: 'LLM' }, /model_path|hub/],
  ];
  for (const [body, why] of cases) {
    const r = await api(server, 'POST', '/v1/models', body);
    assert.equal(r.status, 400, `${body.model_name}: ${r.text}`);
    assert.match(r.json.detail ?? r.json.error.message, why, body.model_name);
  }
  // A GGUF the user brings is served under the name (the file says what it is).
  const own = await launch(server, { model_name: 'chatglm3', model_type: 'LLM', model_path: CHAT_MODEL });
  assert.equal((await api(server, 'GET', `/v1/models/${own}`)).json.model_name, 'chatglm3');
  await api(server, 'DELETE', `/v1/models/${own}`);
  const models = await api(server, 'GET', '/v1/models');
  assert.equal(models.status, 200, 'the service is up');
});
