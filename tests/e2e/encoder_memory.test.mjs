// What an embedding engine keeps after a long input. llama.cpp sized its output buffer for
// n_vocab logits per input token even where pooling leaves no logits to read (297 MiB after one
// 512-token input to this 2-layer test model with Qwen's 152k-token vocabulary; 4.6 GiB after an
// 8192-token input to Qwen3-Embedding), cleared it and kept it; and a decoder-based embedder also
// computed its LM head over every token, into a compute buffer of that size. xinfer's patches to
// libllama reserve no logits and drop the LM head for pooled embeddings: both engines (the model
// host and llama-server) stay small, and the vectors are the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, api, MODELS } from './helpers.mjs';

const BIG_VOCAB_EMBED = join(MODELS ?? '', 'tiny-embed-qwen-vocab.gguf');
const DECODER_EMBED = join(MODELS ?? '', 'tiny-embed-decoder.gguf');

// Resident memory of a model's first replica, in MiB.
async function engineRssMiB(server, uid) {
  const pid = (await api(server, 'GET', `/v1/models/${uid}`)).json.replicas[0].pid;
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

const cosine = (a, b) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
};

test('a long input leaves an embedding engine small (model host and llama-server; BERT and a decoder)', async () => {
  const server = await startServer();
  try {
    // n_parallel is an option only llama-server has: those models run on llama-server.
    await launch(server, { model_uid: 'host', model_name: 'host', model_type: 'embedding', model_path: BIG_VOCAB_EMBED });
    await launch(server, { model_uid: 'ls', model_name: 'ls', model_type: 'embedding', model_path: BIG_VOCAB_EMBED, n_parallel: 1 });
    await launch(server, { model_uid: 'dec-host', model_name: 'dec-host', model_type: 'embedding', model_path: DECODER_EMBED });
    await launch(server, { model_uid: 'dec-ls', model_name: 'dec-ls', model_type: 'embedding', model_path: DECODER_EMBED, n_parallel: 1 });
    // About 480 tokens (the BERT model reads at most 512).
    const long = Array.from({ length: 170 }, (_, i) => `word${i % 50}`).join(' ');
    for (const uid of ['host', 'ls', 'dec-host', 'dec-ls']) {
      const short = await api(server, 'POST', '/v1/embeddings', { model: uid, input: 'warm up' });
      assert.equal(short.status, 200, short.text);
      const before = await engineRssMiB(server, uid);
      const r = await api(server, 'POST', '/v1/embeddings', { model: uid, input: long });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.usage.prompt_tokens > 400, `a long input (${r.json.usage.prompt_tokens} tokens)`);
      const grew = (await engineRssMiB(server, uid)) - before;
      // Logits for it would be prompt_tokens x 151936 floats: about 280 MiB.
      assert.ok(grew < 64, `${uid}: the engine grew by ${grew.toFixed(1)} MiB after one long input`);
    }
    // The decoder's vectors: the same from both engines (llama-server's are llama.cpp's own).
    const both = await Promise.all(['dec-host', 'dec-ls'].map((m) => api(server, 'POST', '/v1/embeddings', { model: m, input: long })));
    assert.ok(cosine(both[0].json.data[0].embedding, both[1].json.data[0].embedding) >= 0.9999);
  } finally {
    await server.stop();
  }
});
