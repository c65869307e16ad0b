// Rerank requests that arrive together are merged into one call to the model host (several
// queries, their pairs computed together): every answer is the one the request gets alone (same
// order, scores, usage, top_n, documents), a bad request keeps its own error without failing the
// others, and /metrics shows the merging.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, launch, RERANK_MODEL } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
  await launch(server, { model_uid: 'rr', model_name: 'r', model_type: 'rerank', model_path: RERANK_MODEL });
});
after(async () => { await server?.stop(); });

const counter = async (name) => {
  const m = (await api(server, 'GET', '/metrics')).text.match(new RegExp(`${name}\\{model="rr"[^}]*\\} (\\d+)`));
  return Number(m?.[1] ?? 0);
};
const merged = () => counter('xinfer_merged_requests_total');
const doc = (i, k) => `document ${i}.${k}: ${'notes on search and ranking '.repeat(1 + ((i + k) % 4))}`;
const body = (i) => {
  const b = { model: 'rr', query: `question ${i} about ${i % 2 ? 'search' : 'ranking'}?`,
    documents: Array.from({ length: 1 + (i % 4) }, (_, k) => doc(i, k)) };
  if (i % 5 === 1) b.top_n = 1;
  if (i % 3 === 2) { b.return_documents = true; b.return_len = true; }
  return b;
};

// Everything but the random id and the scores' last bits: the same documents with the same
// scores, sorted, the documents' text, the token counts. (Alone, a short pair runs in the engine's
// small context, merged in its main one: scores agree to float precision, so two documents whose
// scores are that close may swap places, or at the top_n cut.)
const CLOSE = 1e-4;
function assertSameAnswer(got, alone, what) {
  assert.equal(got.status, 200, got.text);
  const results = got.json.results;
  assert.equal(results.length, alone.results.length, what);
  const aloneScore = new Map(alone.results.map((a) => [a.index, a.relevance_score]));
  const cut = alone.results.at(-1).relevance_score;
  results.forEach((r, k) => {
    const a = alone.results.find((x) => x.index === r.index);
    if (a) {
      assert.ok(Math.abs(r.relevance_score - a.relevance_score) < CLOSE, `${what}: ${r.relevance_score} vs ${a.relevance_score}`);
      assert.deepEqual(r.document, a.document, what);
    } else {
      assert.ok(Math.abs(r.relevance_score - cut) < CLOSE, `${what}: document ${r.index} is not among the request's results alone`);
    }
    if (k > 0) assert.ok(r.relevance_score <= results[k - 1].relevance_score + CLOSE, `${what}: sorted by score`);
    const before = k > 0 ? aloneScore.get(results[k - 1].index) : undefined;
    if (a && before !== undefined && Math.abs(r.relevance_score - results[k - 1].relevance_score) >= CLOSE)
      assert.ok(before > a.relevance_score, `${what}: the order of clearly different scores kept`);
  });
  assert.deepEqual(got.json.meta, alone.meta, `${what}: its own token count`);
}

test('concurrent requests are merged, and each answer is what the request gets alone', async () => {
  const bodies = Array.from({ length: 40 }, (_, i) => body(i));
  const alone = [];
  for (const b of bodies) alone.push((await api(server, 'POST', '/v1/rerank', b)).json);  // one at a time: nothing to merge
  assert.equal(await merged(), 0, 'requests one at a time go alone');
  let total = 0;
  for (let round = 0; round < 5 && total === 0; round++) {
    const together = await Promise.all(bodies.map((b) => api(server, 'POST', '/v1/rerank', b)));
    together.forEach((r, i) => assertSameAnswer(r, alone[i], `request ${i}`));
    total = await merged();
  }
  assert.ok(total > 0, 'some requests were answered by merged engine calls');
});

test('a bad request among merged ones gets its own error; the others their answers', async () => {
  const tooLong = { model: 'rr', query: 'q', documents: ['short', 'word '.repeat(3000)] };
  const aloneError = await api(server, 'POST', '/v1/rerank', tooLong);
  assert.equal(aloneError.status, 400, aloneError.text);
  const good = Array.from({ length: 24 }, (_, i) => body(i));
  const alone = [];
  for (const b of good) alone.push((await api(server, 'POST', '/v1/rerank', b)).json);
  const mixed = [...good.slice(0, 12), tooLong, ...good.slice(12), tooLong];
  let refused = 0;
  for (let round = 0; round < 5 && (round < 3 || refused === 0); round++) {
    const replies = await Promise.all(mixed.map((b) => api(server, 'POST', '/v1/rerank', b)));
    replies.forEach((r, i) => {
      if (mixed[i] === tooLong) {
        assert.equal(r.status, 400);
        assert.deepEqual(r.json.error, aloneError.json.error, 'the same error as alone');
      } else {
        assertSameAnswer(r, alone[good.indexOf(mixed[i])], `request ${i}`);
      }
    });
    refused = await counter('xinfer_merged_calls_refused_total');
  }
  assert.ok(refused > 0, 'a bad request rode in a merged call, which the engine refused');
});
