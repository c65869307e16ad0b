// Authentication with Xinference's auth file (`serve --auth-config FILE`): deny by default,
// 401 without or with a wrong credential, 403 naming the missing permission, API keys and the
// POST /token login, token expiry, and nothing stored in plain text under XINFER_HOME.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, readdirSync, readFileSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, cli, sleep, CHAT_MODEL, MODELS, scratchDir } from './helpers.mjs';

const KEYS = { admin: 'sk-AdminKey00001', reader: 'sk-ReaderKey0002', starter: 'sk-StarterKey003' };
const PASSWORDS = { admin: 'admin-password-1', reader: 'reader-password-2', starter: 'starter-password-3' };
const SCRAPE = 'a-scrape-token-for-prometheus';
const dir = scratchDir('xinfer-auth-');
let server;

function authFile(name, minutes = 30) {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({
    auth_config: { algorithm: 'HS256', secret_key: 'a-secret-of-at-least-16-chars', token_expire_in_minutes: minutes },
    user_config: [
      { username: 'admin', password: PASSWORDS.admin, permissions: ['admin'], api_keys: [KEYS.admin] },
      { username: 'reader', password: PASSWORDS.reader, permissions: ['models:list', 'models:read'], api_keys: [KEYS.reader] },
      { username: 'starter', password: PASSWORDS.starter, permissions: ['models:list', 'models:start'], api_keys: [KEYS.starter] },
    ],
  }));
  return file;
}
const as = (key) => ({ Authorization: `Bearer ${key}` });

before(async () => {
  server = await startServer({ args: ['--auth-config', authFile('auth.json'), '--model-dirs', MODELS, '--metrics-token', SCRAPE] });
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('public routes stay public; every other route needs a credential (401 with WWW-Authenticate)', async () => {
  assert.deepEqual((await api(server, 'GET', '/v1/cluster/auth')).json, { auth: true });
  assert.equal((await api(server, 'GET', '/status')).status, 200);
  assert.equal((await api(server, 'GET', '/ui/')).status, 200);
  const routes = [['GET', '/v1/models'], ['POST', '/v1/models'], ['GET', '/v1/models/x'], ['DELETE', '/v1/models/x'],
    ['GET', '/v1/models/instances'], ['POST', '/v1/chat/completions'], ['POST', '/v1/embeddings'], ['POST', '/v1/rerank'],
    ['POST', '/v1/audio/transcriptions'], ['GET', '/v1/model_registrations/LLM'], ['POST', '/v1/model_registrations/LLM'],
    ['DELETE', '/v1/model_registrations/LLM/x'], ['GET', '/v1/cache/models'], ['GET', '/v1/cluster/info'], ['GET', '/metrics'],
    ['DELETE', '/v1/clusters'], ['GET', '/v1/some/route/nobody/listed']];
  for (const [method, path] of routes) {
    const r = await api(server, method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
    assert.equal(r.status, 401, `${method} ${path}: ${r.status} ${r.text}`);
    assert.equal(r.headers['www-authenticate'], 'Bearer');
    assert.equal(r.json.error.type, 'authentication_error');
    const wrong = await api(server, method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, as('sk-NotAKey000000'));
    assert.equal(wrong.status, 401, `${method} ${path} with a wrong key`);
  }
});

test('keys carry their user\'s permissions: 403 names the one missing', async () => {
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(KEYS.reader))).status, 200);
  const refused = await api(server, 'POST', '/v1/models', { model_name: 'c', model_path: CHAT_MODEL }, as(KEYS.reader));
  assert.equal(refused.status, 403);
  assert.match(refused.json.error.message, /User 'reader' lacks the permission 'models:start'/);
  const launched = await api(server, 'POST', '/v1/models', { model_uid: 'guarded', model_name: 'c', model_path: CHAT_MODEL, wait_ready: true }, as(KEYS.starter));
  assert.equal(launched.status, 200, launched.text);
  const chat = { model: 'guarded', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };
  assert.equal((await api(server, 'POST', '/v1/chat/completions', chat, as(KEYS.reader))).status, 200, 'models:read may use it');
  const noRead = await api(server, 'POST', '/v1/chat/completions', chat, as(KEYS.starter));
  assert.equal(noRead.status, 403);
  assert.match(noRead.json.error.message, /models:read/);
  // Voices to clone are registrations: a reader lists them but does not change them.
  assert.equal((await api(server, 'GET', '/v1/audio/voices', undefined, as(KEYS.reader))).status, 200);
  const voice = await api(server, 'DELETE', '/v1/audio/voices/alice', undefined, as(KEYS.reader));
  assert.equal(voice.status, 403);
  assert.match(voice.json.error.message, /models:register/);
  assert.equal((await api(server, 'DELETE', '/v1/models/guarded', undefined, as(KEYS.reader))).status, 403);
  assert.equal((await api(server, 'DELETE', '/v1/models/guarded', undefined, as(KEYS.admin))).status, 200, 'admin may do anything');
});

test('a scrape token reads /metrics and nothing else', async () => {
  const m = await api(server, 'GET', '/metrics', undefined, as(SCRAPE));
  assert.equal(m.status, 200, m.text);
  assert.match(m.text, /xinfer_models_loaded/);
  for (const [method, path] of [['GET', '/v1/models'], ['POST', '/metrics'], ['GET', '/v1/admin/keys']])
    assert.equal((await api(server, method, path, method === 'POST' ? {} : undefined, as(SCRAPE))).status, 401, `${method} ${path}`);
  assert.equal((await api(server, 'GET', '/metrics', undefined, as(SCRAPE + 'x'))).status, 401);
});

test('POST /token logs in (JSON or form) and its token works; a wrong password is a 401', async () => {
  const typed = await api(server, 'POST', '/token', { username: 5, password: 1 });
  assert.equal(typed.status, 400, typed.text);
  assert.equal(typed.json.error.param, 'username');
  const bad = await api(server, 'POST', '/token', { username: 'reader', password: 'nope' });
  assert.equal(bad.status, 401);
  const unknown = await api(server, 'POST', '/token', { username: 'nobody', password: 'nope' });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.json.error.message, bad.json.error.message, 'an unknown user looks like a wrong password');
  const r = await api(server, 'POST', '/token', { username: 'reader', password: PASSWORDS.reader });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.token_type, 'bearer');
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(r.json.access_token))).status, 200);
  const form = await api(server, 'POST', '/token', `username=starter&password=${PASSWORDS.starter}`, { 'Content-Type': 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 200, form.text);
  // A token signed with another secret, or tampered with, is refused.
  const [h, p, s] = r.json.access_token.split('.');
  const forged = [h, Buffer.from(JSON.stringify({ sub: 'admin', exp: 9999999999 })).toString('base64url'), s].join('.');
  assert.equal((await api(server, 'GET', '/v1/models', undefined, as(forged))).status, 401);
  // Found by fuzzing: a header whose "alg" is a number once escaped as an exception.
  for (const odd of ['eyJhbGciOjJ9.e30.x', 'eyJhbGciOm51bGx9.e30.x', 'W10.e30.x', 'e30.e30.'])
    assert.equal((await api(server, 'GET', '/v1/models', undefined, as(odd))).status, 401, odd);
  assert.equal((await api(server, 'GET', '/status')).status, 200);
});

test('the CLI sends -ak (Xinference\'s flag) as the bearer credential; `login` keeps a token per endpoint', () => {
  const cliHome = mkdtempSync(join(dir, 'cli-home-'));  // where the CLI keeps its login tokens
  const env = { XINFER_HOME: cliHome };
  const listed = cli(server, ['list', '-ak', KEYS.reader], { env });
  assert.equal(listed.code, 0, listed.stderr);
  const refused = cli(server, ['list'], { env });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Not authenticated/);
  const login = cli(server, ['login', '--username', 'reader', '--password', PASSWORDS.reader], { env });
  assert.equal(login.code, 0, login.stderr);
  assert.equal(cli(server, ['list'], { env }).code, 0, 'later commands use the saved token');
  assert.equal(statSync(join(cliHome, 'cli-tokens.json')).mode & 0o777, 0o600);
});

test('nothing under XINFER_HOME holds a key or a password in plain text', () => {
  const files = [];
  const walk = (d) => { for (const e of readdirSync(d)) { const p = join(d, e); statSync(p).isDirectory() ? walk(p) : files.push(p); } };
  walk(server.home);
  assert.ok(files.some((f) => f.endsWith('auth.json')), 'the imported hashes are there');
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const secret of [...Object.values(KEYS), ...Object.values(PASSWORDS)])
      assert.equal(bytes.indexOf(secret), -1, `${secret} found in ${f}`);
  }
  assert.equal(statSync(join(server.home, 'auth.json')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(server.home, 'auth.json'), 'utf8'), /\$argon2id\$/);
});

test('tokens expire as the auth config says', async () => {
  const short = await startServer({ args: ['--auth-config', authFile('short.json', 0.03)] });  // 1.8 s
  try {
    const token = (await api(short, 'POST', '/token', { username: 'reader', password: PASSWORDS.reader })).json.access_token;
    assert.equal((await api(short, 'GET', '/v1/models', undefined, as(token))).status, 200);
    await sleep(3000);  // 1.8 s, rounded up to the token's whole last second: under 2.8 s
    const expired = await api(short, 'GET', '/v1/models', undefined, as(token));
    assert.equal(expired.status, 401);
    assert.match(expired.json.error.message, /Invalid or expired/);
  } finally {
    await short.stop();
  }
});

test('the web UI asks to log in, then works with the token; a wrong password is said so', { skip: !existsSync('/usr/bin/chromium') && 'no chromium' }, async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ locale: 'en-US' });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/ui/`);
    await page.locator('section.login').waitFor();
    await page.fill('input[name=username]', 'reader');
    await page.fill('input[name=password]', 'wrong');
    await page.click('section.login button.primary');
    await page.locator('section.login .error:has-text("Incorrect username or password")').waitFor();
    await page.fill('input[name=password]', PASSWORDS.reader);
    await page.click('section.login button.primary');
    await page.locator('.card[data-model="qwen2.5-instruct"]').waitFor();  // models:list works with the token
    await page.click('button[data-action=logout]');
    await page.locator('section.login').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the audit log records who launched, stopped, logged in and was refused; admins only may read it', async () => {
  assert.equal((await api(server, 'GET', '/v1/admin/audit', undefined, as(KEYS.reader))).status, 403);
  const r = await api(server, 'GET', '/v1/admin/audit?limit=1000', undefined, as(KEYS.admin));
  assert.equal(r.status, 200, r.text);
  const has = (want) => r.json.entries.some((e) => Object.entries(want).every(([k, v]) => e[k] === v));
  assert.ok(has({ who: 'starter', method: 'POST', path: '/v1/models', status: 200 }), 'the launch, by starter');
  assert.ok(has({ who: 'admin', method: 'DELETE', path: '/v1/models/guarded', status: 200 }), 'the terminate, by admin');
  assert.ok(has({ who: 'reader', method: 'POST', path: '/v1/models', status: 403 }), 'a refusal, with who');
  assert.ok(has({ who: 'reader', path: '/token', status: 401 }), 'a failed login');
  assert.ok(has({ who: '-', method: 'GET', path: '/v1/models', status: 401 }), 'an anonymous refusal');
  assert.ok(r.json.entries.every((e) => e.from === '127.0.0.1' && typeof e.time === 'number'));
  assert.ok(!r.json.entries.some((e) => e.path === '/v1/chat/completions' && e.status === 200), 'served inference is not management');
  assert.ok(has({ who: 'starter', path: '/v1/chat/completions', status: 403 }), 'a refused one is recorded');
});

test('repeated failed logins from one address are slowed, then refused for a while', async () => {
  const fresh = await startServer({ args: ['--auth-config', authFile('guard.json')] });
  try {
    const attempt = async (password) => {
      const t0 = Date.now();
      const r = await api(fresh, 'POST', '/token', { username: 'reader', password });
      return { status: r.status, ms: Date.now() - t0, headers: r.headers, json: r.json };
    };
    const tries = [];
    for (let i = 0; i < 5; i++) tries.push(await attempt('wrong'));
    assert.deepEqual(tries.map((t) => t.status), [401, 401, 401, 401, 401]);
    assert.ok(tries.slice(2).every((t) => t.ms >= 1000), `from the third failure each answer waits: ${tries.map((t) => t.ms)}`);
    const locked = await attempt(PASSWORDS.reader);  // even the right password, while locked out
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers['retry-after']) > 0);
    assert.match(locked.json.error.message, /Too many failed logins/);
  } finally {
    await fresh.stop();
  }
});
