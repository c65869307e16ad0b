// Embedding requests that arrive together are merged into one engine call (dynamic batching):
// every answer is the one the request gets alone (same vectors, same usage, its own order), a
// bad request keeps its own error without failing the others, and /metrics shows the merging.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, launch, EMBED_MODEL } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
  await launch(server, { model_uid: 'emb', model_name: 'e', model_type: 'embedding', model_path: EMBED_MODEL });
});
after(async () => { await server?.stop(); });

const cosine = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};
const text = (i) => `Request ${i}: ${'a search over the knowledge base '.repeat(1 + (i % 5))}`;
const merged = async () => {
  const m = (await api(server, 'GET', '/metrics')).text.match(/xinfer_merged_requests_total\{model="emb"[^}]*\} (\d+)/);
  return Number(m?.[1] ?? 0);
};

test('concurrent requests are merged, and each answer is what the request gets alone', async () => {
  const bodies = Array.from({ length: 48 }, (_, i) => ({ model: 'emb', input: i % 3 === 0 ? [text(i), text(i + 100)] : text(i) }));
  const alone = [];
  for (const b of bodies) alone.push((await api(server, 'POST', '/v1/embeddings', b)).json);  // one at a time: nothing to merge
  const before = await merged();
  assert.equal(before, 0, 'requests one at a time go alone');
  let total = 0;
  for (let round = 0; round < 5 && total === 0; round++) {
    const together = await Promise.all(bodies.map((b) => api(server, 'POST', '/v1/embeddings', b)));
    for (let i = 0; i < bodies.length; i++) {
      const r = together[i];
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.data.length, alone[i].data.length);
      r.json.data.forEach((d, k) => {
        assert.equal(d.index, k, 'indexes are the request\'s own');
        assert.equal(d.object, 'embedding');
        assert.ok(cosine(d.embedding, alone[i].data[k].embedding) >= 0.9999, `request ${i} item ${k}`);
        assert.ok(!('tokens_evaluated' in d));
      });
      assert.deepEqual(r.json.usage, alone[i].usage, `request ${i}: its own usage`);
      assert.equal(r.json.model, 'emb');
      assert.equal(r.json.object, 'list');
    }
    total = await merged();
  }
  assert.ok(total > 0, 'some requests were answered by merged engine calls');
});

test('base64 answers are merged the same way', async () => {
  const b = (i) => ({ model: 'emb', input: text(i), encoding_format: 'base64' });
  const alone = (await api(server, 'POST', '/v1/embeddings', b(7))).json;
  const together = await Promise.all(Array.from({ length: 24 }, () => api(server, 'POST', '/v1/embeddings', b(7))));
  const floats = (b64) => { const b = Buffer.from(b64, 'base64'); return Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(i * 4)); };
  for (const r of together) {
    assert.equal(r.status, 200);
    assert.equal(r.json.data[0].encoding_format, 'base64');
    // The engine's sums run in another order in a bigger batch: the same vector to float precision.
    assert.ok(cosine(floats(r.json.data[0].embedding), floats(alone.data[0].embedding)) >= 0.9999);
    assert.deepEqual(r.json.usage, alone.usage);
  }
});

test('a bad request among merged ones gets its own error; the others their answers', async () => {
  const tooLong = { model: 'emb', input: 'word '.repeat(700) };
  const aloneError = await api(server, 'POST', '/v1/embeddings', tooLong);
  assert.equal(aloneError.status, 400);
  const good = Array.from({ length: 24 }, (_, i) => ({ model: 'emb', input: text(i) }));
  const mixed = [...good.slice(0, 12), tooLong, ...good.slice(12), tooLong];
  for (let round = 0; round < 3; round++) {
    const replies = await Promise.all(mixed.map((b) => api(server, 'POST', '/v1/embeddings', b)));
    replies.forEach((r, i) => {
      if (mixed[i] === tooLong) {
        assert.equal(r.status, 400);
        assert.equal(r.json.error.message, aloneError.json.error.message, 'the same error as alone');
      } else {
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.data.length, 1);
      }
    });
  }
});
