// API key management without restarts (`xinfer keys`, /v1/admin/keys): a new key is shown once
// and stored hashed; a key can be limited to some models, an expiry, requests and tokens per
// minute (429 with Retry-After), and fewer permissions; revocation takes effect at once and
// survives a restart, for created keys and for the auth file's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, readdirSync, readFileSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, api, sleep, BIN, CHAT_MODEL, RERANK_MODEL, MODELS, scratchDir } from './helpers.mjs';

const ADMIN = 'sk-AdminKey00001', READER = 'sk-ReaderKey0002';
const dir = scratchDir('xinfer-keys-');
const authFile = join(dir, 'auth.json');
writeFileSync(authFile, JSON.stringify({
  auth_config: { algorithm: 'HS256', secret_key: 'a-secret-of-at-least-16-chars', token_expire_in_minutes: 30 },
  user_config: [
    { username: 'admin', password: 'admin-password-1', permissions: ['admin'], api_keys: [ADMIN] },
    { username: 'reader', password: 'reader-password-2', permissions: ['models:list', 'models:read'], api_keys: [READER] },
  ],
}));
const args = ['--auth-config', authFile, '--model-dirs', MODELS];
const as = (key) => ({ Authorization: `Bearer ${key}` });
const chat = (model, max_tokens = 4) => ({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens });
let server;
const created = [];  // every plain key handed out, to look for under XINFER_HOME

async function createKey(body, key = ADMIN) {
  const r = await api(server, 'POST', '/v1/admin/keys', body, as(key));
  if (r.status === 201) created.push(r.json.key);
  return r;
}

before(async () => {
  server = await startServer({ args });
  const r = await api(server, 'POST', '/v1/models', { model_uid: 'allowed', model_name: 'c', model_path: CHAT_MODEL, wait_ready: true }, as(ADMIN));
  assert.equal(r.status, 200, r.text);
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('an admin creates a key (shown once, Xinference\'s format); lists never show it; others may not manage keys', async () => {
  const r = await createKey({ user: 'reader', name: 'search tool' });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.key, /^sk-[A-Za-z0-9]{13}$/);
  assert.equal(r.json.user, 'reader');
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(r.json.key))).status, 200, 'it works at once');
  const list = await api(server, 'GET', '/v1/admin/keys', undefined, as(ADMIN));
  assert.equal(list.status, 200);
  const mine = list.json.keys.find((k) => k.id === r.json.id);
  assert.equal(mine.name, 'search tool');
  assert.equal(mine.hint, `sk-…${r.json.key.slice(-4)}`);
  assert.ok(!list.text.includes(r.json.key) && !('hmac' in mine), 'neither the key nor its hash is listed');
  assert.ok(list.json.keys.some((k) => k.source === 'auth_config' && k.user === 'reader'), 'the auth file\'s keys are listed too');
  for (const [method, path, body] of [['GET', '/v1/admin/keys'], ['POST', '/v1/admin/keys', { user: 'reader' }], ['DELETE', `/v1/admin/keys/${r.json.id}`]])
    assert.equal((await api(server, method, path, body, as(READER))).status, 403, `${method} ${path} by a reader`);
  const bad = await createKey({ user: 'reader', permissions: ['models:start'] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /lacks the permission 'models:start'/);
  assert.equal((await createKey({ user: 'nobody' })).status, 400);
  assert.equal((await createKey({ user: 'reader', rpm: -1 })).status, 400);
});

test('a key limited to some models gets 403 for the others; fewer permissions than its user are kept to', async () => {
  const k = (await createKey({ user: 'reader', models: ['allowed'] })).json.key;
  assert.equal((await api(server, 'POST', '/v1/chat/completions', chat('allowed'), as(k))).status, 200);
  const other = await api(server, 'POST', '/v1/chat/completions', chat('other-model'), as(k));
  assert.equal(other.status, 403);
  assert.match(other.json.error.message, /may not use model 'other-model'/);
  assert.equal((await api(server, 'GET', '/v1/models/other-model', undefined, as(k))).status, 403, 'model routes too');
  const narrow = (await createKey({ user: 'admin', permissions: ['models:list'] })).json.key;
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(narrow))).status, 200);
  const refused = await api(server, 'DELETE', '/v1/models/allowed', undefined, as(narrow));
  assert.equal(refused.status, 403, 'an admin\'s key narrowed to models:list cannot stop models');
});

test('requests per minute: over the limit is a 429 with Retry-After; other keys are not affected', async () => {
  const k = (await createKey({ user: 'reader', rpm: 3 })).json.key;
  for (let i = 0; i < 3; i++) assert.equal((await api(server, 'GET', '/v1/models', undefined, as(k))).status, 200);
  const over = await api(server, 'GET', '/v1/models', undefined, as(k));
  assert.equal(over.status, 429);
  assert.equal(over.json.error.type, 'rate_limit_error');
  assert.match(over.json.error.message, /requests per minute/);
  const wait = Number(over.headers['retry-after']);
  assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(READER))).status, 200);
});

test('tokens per minute: the tokens a key\'s answers used count against it', async () => {
  const k = (await createKey({ user: 'reader', tpm: 10 })).json.key;
  const first = await api(server, 'POST', '/v1/chat/completions', chat('allowed', 8), as(k));
  assert.equal(first.status, 200, first.text);
  assert.ok(first.json.usage.total_tokens > 10, `one answer used ${first.json.usage.total_tokens} tokens`);
  const over = await api(server, 'POST', '/v1/chat/completions', chat('allowed', 8), as(k));
  assert.equal(over.status, 429);
  assert.match(over.json.error.message, /tokens per minute/);
  // Streamed answers are counted too, as they go.
  const s = (await createKey({ user: 'reader', tpm: 3 })).json.key;
  const streamed = await api(server, 'POST', '/v1/chat/completions', { ...chat('allowed', 8), stream: true }, as(s));
  assert.equal(streamed.status, 200);
  assert.equal((await api(server, 'POST', '/v1/chat/completions', chat('allowed'), as(s))).status, 429);
});

test('tokens per minute: rerank requests merged into one engine call each charge their own key', async () => {
  const r = await api(server, 'POST', '/v1/models', { model_uid: 'rr', model_name: 'r', model_type: 'rerank', model_path: RERANK_MODEL, wait_ready: true }, as(ADMIN));
  assert.equal(r.status, 200, r.text);
  const rerank = (i) => ({ model: 'rr', query: `question ${i} about search`, documents: [`document ${i}: notes on ranking`] });
  const merged = async () => Number((await api(server, 'GET', '/metrics', undefined, as(ADMIN))).text
    .match(/xinfer_merged_requests_total\{model="rr"[^}]*\} (\d+)/)?.[1] ?? 0);
  // A small key's request among many of an unlimited key: whichever request leads the merged
  // call, the small key is charged its own request's tokens (and only those).
  for (let round = 0; round < 3; round++) {
    const small = (await createKey({ user: 'reader', tpm: 5 })).json.key;
    const big = (await createKey({ user: 'reader', tpm: 100000 })).json.key;
    const replies = await Promise.all([
      ...Array.from({ length: 16 }, (_, i) => api(server, 'POST', '/v1/rerank', rerank(i), as(big))),
      api(server, 'POST', '/v1/rerank', rerank(99), as(small)),
      ...Array.from({ length: 8 }, (_, i) => api(server, 'POST', '/v1/rerank', rerank(i + 16), as(big))),
    ]);
    for (const x of replies) assert.equal(x.status, 200, x.text);
    const over = await api(server, 'POST', '/v1/rerank', rerank(100), as(small));
    assert.equal(over.status, 429, 'the small key was charged for its answer');
    assert.match(over.json.error.message, /tokens per minute/);
  }
  assert.ok(await merged() > 0, 'requests were merged');
});

test('a key stops working when it expires', async () => {
  const r = await createKey({ user: 'reader', expires_at: Date.now() / 1000 + 2 });
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(r.json.key))).status, 200);
  await sleep(2500);
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(r.json.key))).status, 401);
  assert.equal((await createKey({ user: 'reader', expires_at: 1000 })).status, 400, 'an expiry in the past is refused');
});

test('`xinfer keys` creates, lists and revokes; revocation is immediate and survives a restart', async () => {
  const run = async (...a) => (await promisify(execFile)(BIN, ['keys', ...a, '-ak', ADMIN], { env: { ...process.env, XINFERENCE_ENDPOINT: server.url } })).stdout;
  const out = await run('create', '--user', 'reader', '--name', 'cli-made', '--models', 'allowed,other', '--rpm', '100');
  const key = out.split('\n')[0];
  created.push(key);
  assert.match(key, /^sk-[A-Za-z0-9]{13}$/);
  assert.match(out, /cannot be shown again/);
  const id = out.match(/^id (\w+)/m)[1];
  const listed = await run('list');
  assert.match(listed, new RegExp(`${id}.*cli-made.*allowed,other.*100.*active`));
  assert.ok(!listed.includes(key));
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(key))).status, 200);
  const survivor = (await createKey({ user: 'reader', name: 'survivor' })).json.key;

  await run('revoke', id);
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(key))).status, 401, 'revoked at once');
  const readerKeyId = (await api(server, 'GET', '/v1/admin/keys', undefined, as(ADMIN))).json.keys
    .find((k) => k.source === 'auth_config' && k.user === 'reader').id;
  await run('revoke', readerKeyId);
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(READER))).status, 401, 'an auth-file key can be revoked too');
  assert.equal((await api(server, 'DELETE', '/v1/admin/keys/nosuchkey', undefined, as(ADMIN))).status, 404);

  // Same home, same auth file: the created key still works, the revoked ones stay revoked.
  await server.stop({ keepHome: true });
  server = await startServer({ home: server.home, args });
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(survivor))).status, 200);
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(key))).status, 401);
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(READER))).status, 401);
  const audit = await api(server, 'GET', '/v1/admin/audit?limit=1000', undefined, as(ADMIN));
  assert.ok(audit.json.entries.some((e) => e.who === 'admin' && e.method === 'DELETE' && e.path === `/v1/admin/keys/${id}` && e.status === 200),
    'key changes are in the audit log');
});

test('no created key is stored in plain text under XINFER_HOME; keys.json is private', () => {
  assert.ok(created.length >= 5);
  const files = [];
  const walk = (d) => { for (const e of readdirSync(d)) { const p = join(d, e), s = statSync(p); if (s.isDirectory()) walk(p); else if (s.isFile()) files.push(p); } };
  walk(server.home);
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const k of [...created, ADMIN, READER]) assert.equal(bytes.indexOf(k), -1, `a key found in ${f}`);
  }
  assert.equal(statSync(join(server.home, 'keys.json')).mode & 0o777, 0o600);
});
