// Embeddings and rerank for document search: a tiny random-weight BERT (real WordPiece
// tokenizer) served by xinfer's model host on libllama, checked against llama.cpp's own
// llama-embedding tool and llama-server on the same file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startServer, launch, api, cli, EMBED_MODEL, RERANK_MODEL, CHAT_MODEL, LLAMA_BIN, scratchDir } from './helpers.mjs';

let server, client;
const cosine = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};

before(async () => {
  server = await startServer();
  // As the user's deployment script does: catalog name, type, and a folder holding the GGUF.
  const dir = scratchDir('xinfer-bce-');
  symlinkSync(EMBED_MODEL, join(dir, 'bce-embedding-base_v1-Q8_0.gguf'));
  const r = cli(server, ['launch', '--model-name', 'bce-embedding-base_v1', '--model-type', 'embedding', '--model-path', dir]);
  assert.equal(r.code, 0, r.stderr);
  await launch(server, { model_name: 'bge-reranker-v2-m3', model_type: 'rerank', model_path: RERANK_MODEL });
  await launch(server, { model_name: 'chat', model_path: CHAT_MODEL });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
});
after(async () => server?.stop());

test('list shows the embedding dimension; describe has type and max_tokens', async () => {
  const out = cli(server, ['list']).stdout;
  assert.match(out, /UID\s+Type\s+Name\s+Dimensions/);
  assert.match(out, /bce-embedding-base_v1\s+embedding\s+bce-embedding-base_v1\s+64/);
  const d = (await api(server, 'GET', '/v1/models/bce-embedding-base_v1')).json;
  assert.equal(d.model_type, 'embedding');
  assert.equal(d.dimensions, 64);
  assert.equal(d.max_tokens, 512);
});

test('embeddings of strings, lists, token ids, Chinese text; usage and order', async () => {
  const one = await client.embeddings.create({ model: 'bce-embedding-base_v1', input: 'The quick brown fox' });
  assert.equal(one.data.length, 1);
  assert.equal(one.data[0].embedding.length, 64);
  assert.ok(Math.abs(Math.hypot(...one.data[0].embedding) - 1) < 1e-3, 'vectors are L2-normalized');
  assert.ok(one.usage.prompt_tokens >= 5);

  const texts = ['first document', '测试文本', 'The quick brown fox', 'a much longer fourth document about search'];
  const many = await client.embeddings.create({ model: 'bce-embedding-base_v1', input: texts });
  assert.deepEqual(many.data.map((d) => d.index), [0, 1, 2, 3]);
  assert.ok(cosine(many.data[2].embedding, one.data[0].embedding) > 0.9999, 'same text, same vector, in its place');
  assert.ok(cosine(many.data[0].embedding, many.data[1].embedding) < 0.9999, 'different texts differ');
  assert.equal(many.data[1].embedding.length, 64);

  // Token ids embed exactly as the text they spell ([CLS] hello world [SEP] in BERT's vocabulary).
  const tok = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: [101, 7592, 2088, 102] });
  assert.equal(tok.status, 200, tok.text);
  const words = (await client.embeddings.create({ model: 'bce-embedding-base_v1', input: ['hello world', 'hello', 'world'] })).data;
  assert.ok(cosine(tok.json.data[0].embedding, words[0].embedding) > 0.9999, 'ids and their text give one vector');
  const toks = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: [[101, 7592, 102], [101, 2088, 102]] });
  assert.equal(toks.json.data.length, 2);
  assert.equal(toks.json.usage.prompt_tokens, 6);
  assert.ok(cosine(toks.json.data[0].embedding, words[1].embedding) > 0.9999, 'each id list in its place');
  assert.ok(cosine(toks.json.data[1].embedding, words[2].embedding) > 0.9999);
  assert.ok(cosine(toks.json.data[0].embedding, toks.json.data[1].embedding) < 0.9999);
});

// On CPU the model host runs a lone short text (under 64 tokens) in a context of its own without
// flash attention, and a long run with it: the two must give one vector and one score.
test('a text alone and the same text in a long run give one vector; one document alone and among many, one score', async () => {
  const text = 'The quick brown fox';
  const alone = (await client.embeddings.create({ model: 'bce-embedding-base_v1', input: text })).data[0].embedding;
  const others = Array.from({ length: 11 }, (_, i) => `filler document number ${i} about search and retrieval`);
  const run = await client.embeddings.create({ model: 'bce-embedding-base_v1', input: [...others.slice(0, 5), text, ...others.slice(5)] });
  assert.ok(run.usage.prompt_tokens >= 64, `the run fills a tile (${run.usage.prompt_tokens} tokens)`);
  assert.ok(cosine(run.data[5].embedding, alone) >= 0.9999, 'alone and in a long run');
  assert.ok(cosine(run.data[0].embedding, alone) < 0.9999, 'a different text differs');

  const rerank = async (documents) =>
    (await api(server, 'POST', '/v1/rerank', { model: 'bge-reranker-v2-m3', query: 'fox', documents })).json.results;
  const lone = (await rerank([text]))[0].relevance_score;
  const among = (await rerank([...others, text])).find((r) => r.index === others.length).relevance_score;
  assert.ok(Math.abs(lone - among) <= 1e-3 * Math.max(1, Math.abs(lone)), `score alone ${lone}, among many ${among}`);
});

test('base64 encoding decodes to the same floats', async () => {
  const input = 'base64 check';
  const f = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input, encoding_format: 'float' });
  const b = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input, encoding_format: 'base64' });
  const buf = Buffer.from(b.json.data[0].embedding, 'base64');
  const floats = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  assert.equal(floats.length, 64);
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(floats[i] - f.json.data[0].embedding[i]) < 1e-6);
});

test("vectors match llama.cpp's own llama-embedding on the same file (cosine >= 0.999)", async () => {
  for (const text of ['The quick brown fox jumps over the lazy dog', '测试文本']) {
    // llama-embedding (the reference, not the code under test) now and then exits 0 having printed
    // nothing or a cut JSON (its output is not flushed; seen 1 run in 20 here): ask it again, a
    // bounded number of times, until its answer parses.
    let reference = null;
    for (let attempt = 0; attempt < 5 && !reference; attempt++) {
      const out = execFileSync(join(LLAMA_BIN, 'llama-embedding'),
        ['-m', EMBED_MODEL, '-p', text, '--embd-output-format', 'json', '--embd-normalize', '2', '-t', '2'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      try { reference = JSON.parse(out).data[0].embedding; } catch {}
    }
    assert.ok(reference, 'llama-embedding printed its vector');
    const ours = (await client.embeddings.create({ model: 'bce-embedding-base_v1', input: text })).data[0].embedding;
    assert.equal(ours.length, reference.length);
    assert.ok(cosine(ours, reference) >= 0.999, `cosine ${cosine(ours, reference)} for "${text}"`);
  }
});

test('64 concurrent requests all succeed with correct, order-preserving results', async () => {
  const texts = Array.from({ length: 64 }, (_, i) => [`query number ${i}`, `document ${i * 7} text`]);
  const expected = await Promise.all(texts.slice(0, 4).map((t) => client.embeddings.create({ model: 'bce-embedding-base_v1', input: t })));
  const results = await Promise.all(texts.map((t) => client.embeddings.create({ model: 'bce-embedding-base_v1', input: t })));
  assert.equal(results.length, 64);
  results.forEach((r, i) => {
    assert.deepEqual(r.data.map((d) => d.index), [0, 1]);
    assert.equal(r.data[0].embedding.length, 64);
    if (i < 4) {
      assert.ok(cosine(r.data[0].embedding, expected[i].data[0].embedding) > 0.9999);
      assert.ok(cosine(r.data[1].embedding, expected[i].data[1].embedding) > 0.9999);
    }
  });
});

test('too-long input is a clear 400 unless truncate_prompt_tokens asks for truncation', async () => {
  const long = 'word '.repeat(700);
  const r = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: long });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error.message, /longer than the model's context/);
  const t = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: [long, 'short'], truncate_prompt_tokens: 32 });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.data.length, 2);
  const short = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: 'short' });
  assert.equal(t.json.usage.prompt_tokens, 32 + short.json.usage.prompt_tokens, 'the long input is cut to exactly 32 tokens');
});

test('wrong endpoint for the model type, and bad inputs, are clear 400s', async () => {
  const cases = [
    await api(server, 'POST', '/v1/chat/completions', { model: 'bce-embedding-base_v1', messages: [{ role: 'user', content: 'x' }] }),
    await api(server, 'POST', '/v1/embeddings', { model: 'chat', input: 'x' }),
    await api(server, 'POST', '/v1/rerank', { model: 'bce-embedding-base_v1', query: 'q', documents: ['d'] }),
    await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: [] }),
    await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: ['ok', 5] }),
    await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: 'x', encoding_format: 'int8' }),
    await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: 'x', dimensions: 32 }),
    await api(server, 'POST', '/v1/rerank', { model: 'bge-reranker-v2-m3', query: 'q', documents: [] }),
    await api(server, 'POST', '/v1/rerank', { model: 'bge-reranker-v2-m3', query: 'q', documents: ['a'], top_n: 0 }),
  ];
  for (const r of cases) {
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.detail, r.json.error.message);
  }
  assert.match(cases[0].json.error.message, /embedding model/);
});

// /metrics counts a model's answered requests; a rerank model's too.
const requestsTotal = async (model, type) => {
  const text = (await api(server, 'GET', '/metrics')).text;
  return Number(new RegExp(`^xinfer_requests_total\\{model="${model}",type="${type}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

test('rerank: sorted by relevance_score with original indexes, top_n, documents and token counts', async () => {
  const counted = await requestsTotal('bge-reranker-v2-m3', 'rerank');
  const documents = ['Paris is the capital of France.', 'Bananas are yellow.', '巴黎是法国的首都。', 'The Eiffel Tower is in Paris.', 'Cats sleep a lot.'];
  const r = await api(server, 'POST', '/v1/rerank', { model: 'bge-reranker-v2-m3', query: 'capital of France', documents, return_documents: true, return_len: true });
  assert.equal(r.status, 200, r.text);
  const res = r.json.results;
  assert.equal(res.length, documents.length);
  assert.deepEqual(res.map((x) => x.index).sort(), [0, 1, 2, 3, 4]);
  for (let i = 1; i < res.length; i++) assert.ok(res[i - 1].relevance_score >= res[i].relevance_score);
  for (const x of res) assert.equal(x.document.text, documents[x.index]);
  assert.ok(r.json.meta.tokens.input_tokens > 20);
  assert.equal(typeof r.json.id, 'string');

  const top = await api(server, 'POST', '/v1/rerank', { model: 'bge-reranker-v2-m3', query: 'capital of France', documents, top_n: 2 });
  assert.deepEqual(top.json.results.map((x) => x.index), res.slice(0, 2).map((x) => x.index));
  assert.equal(top.json.results[0].document, null);
  assert.equal(top.json.meta.tokens, null);
  const again = await api(server, 'POST', '/v1/rerank', { model: 'bge-reranker-v2-m3', query: 'capital of France', documents });
  assert.ok(Math.abs(again.json.results[0].relevance_score - res[0].relevance_score) < 1e-5, 'scores are deterministic');
  assert.equal(await requestsTotal('bge-reranker-v2-m3', 'rerank') - counted, 3, 'three rerank requests answered');
});

// The program a model's first replica runs (its command line, from /proc).
const engineProgram = async (uid) => {
  const pid = (await api(server, 'GET', `/v1/models/${uid}`)).json.replicas[0].pid;
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
};

// The cgroup CPU quota this process runs under (a container's own view), in cores; 0 when none.
const cgroupQuota = () => {
  try {
    const [q, p] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    return q === 'max' ? 0 : Number(q) / Number(p);
  } catch {}
  try {
    const q = Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', 'utf8'));
    return q > 0 ? q / Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_period_us', 'utf8')) : 0;
  } catch { return 0; }
};

test('an encoder replica with cores to spare runs one more lane, in SCHED_IDLE, and says so', async () => {
  const held = (await api(server, 'GET', '/v1/cluster/info')).json[0].reservations;
  for (const uid of ['bce-embedding-base_v1', 'bge-reranker-v2-m3']) {
    const r = held.find((x) => x.replica === `${uid}#0`);
    const expected = cpus().length > r.threads && !r.shared_cores && cgroupQuota() === 0 ? 1 : 0;
    assert.equal(r.spare_threads, expected, JSON.stringify(r));
    // Linux's policy 5 (SCHED_IDLE) for the spare lane's thread, and for no other.
    const pid = (await api(server, 'GET', `/v1/models/${uid}`)).json.replicas[0].pid;
    const idle = readdirSync(`/proc/${pid}/task`).filter((tid) =>
      /^policy\s*:\s*5$/m.test(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8')));
    assert.equal(idle.length, expected, `${uid}: ${idle.length} threads in SCHED_IDLE`);
  }
});

test("the encoder host answers as llama-server does (vectors, scores, usage, errors); llama-server options choose llama-server", async () => {
  // Embedding and rerank replicas run in xinfer-encoder, which maps none of the speech engines'
  // libraries (ffmpeg, flite, pocketsphinx, whisper.cpp's ggml users aside).
  for (const uid of ['bce-embedding-base_v1', 'bge-reranker-v2-m3']) {
    assert.match(await engineProgram(uid), /xinfer-encoder$/);
    const pid = (await api(server, 'GET', `/v1/models/${uid}`)).json.replicas[0].pid;
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    assert.doesNotMatch(maps, /libav(codec|format|util)|libflite|libpocketsphinx|libsphinxbase|librsvg/, `${uid}: no speech library mapped`);
  }
  // An option only llama-server has: the model runs on llama-server, as before.
  await launch(server, { model_uid: 'emb-ls', model_name: 'emb-ls', model_type: 'embedding', model_path: EMBED_MODEL, n_parallel: 4 });
  await launch(server, { model_uid: 'rerank-ls', model_name: 'rerank-ls', model_type: 'rerank', model_path: RERANK_MODEL, n_parallel: 4 });
  assert.match(await engineProgram('emb-ls'), /llama-server$/);
  try {
    const input = ['The quick brown fox', '测试文本', 'a much longer document about search and retrieval', 'x'];
    const ours = (await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input })).json;
    const theirs = (await api(server, 'POST', '/v1/embeddings', { model: 'emb-ls', input })).json;
    assert.deepEqual(ours.usage, theirs.usage);
    ours.data.forEach((d, i) => assert.ok(cosine(d.embedding, theirs.data[i].embedding) >= 0.9999, `input ${i}`));

    const documents = ['Paris is the capital of France.', 'Bananas are yellow.', '巴黎是法国的首都。', 'Cats sleep a lot.'];
    const body = (model) => ({ model, query: 'capital of France', documents, return_len: true });
    const a = (await api(server, 'POST', '/v1/rerank', body('bge-reranker-v2-m3'))).json;
    const b = (await api(server, 'POST', '/v1/rerank', body('rerank-ls'))).json;
    assert.deepEqual(a.results.map((r) => r.index), b.results.map((r) => r.index));
    a.results.forEach((r, i) => assert.ok(Math.abs(r.relevance_score - b.results[i].relevance_score) < 1e-3, `rank ${i}`));
    assert.deepEqual(a.meta.tokens, b.meta.tokens);

    // Token ids outside the vocabulary: a 400 that says so (llama-server: also a 400).
    const bad = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: [101, 99999999, 102] });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.error.message, /not in the vocabulary/);
    assert.equal((await api(server, 'POST', '/v1/embeddings', { model: 'emb-ls', input: [101, 99999999, 102] })).status, 400);
  } finally {
    await api(server, 'DELETE', '/v1/models/emb-ls');
    await api(server, 'DELETE', '/v1/models/rerank-ls');
  }
});
