// The CLI as a user runs it: launch with a progress bar, list, terminate, registrations, and the
// Xinference command names (`xinference`, `xinference-local`) working as aliases.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { startServer, api, cli, cliAsync, pidAlive, waitFor, BIN, CHAT_MODEL, scratchDir } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => server?.stop());

test('launch shows progress and the uid; list shows a table; terminate removes the model', async () => {
  const r = cli(server, ['launch', '--model-name', 'qwen2.5-instruct', '--model-type', 'LLM', '--model-path', CHAT_MODEL,
    '-u', 'cli-qwen', '--n-gpu', 'none', '--n_ctx', '2048']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Model uid: cli-qwen/);
  const d = await api(server, 'GET', '/v1/models/cli-qwen');
  assert.equal(d.json.status, 'ready');
  assert.equal(d.json.launch_params.n_ctx, 2048, 'unknown --key value pairs reach the engine');
  assert.equal(d.json.n_gpu, null);

  const list = cli(server, ['list']);
  assert.equal(list.code, 0);
  const lines = list.stdout.trim().split('\n');
  assert.match(lines[0], /^UID\s+Type\s+Name\s+Format/);
  assert.ok(lines.some((l) => /^cli-qwen\s+LLM\s+qwen2\.5-instruct\s+ggufv2/.test(l)), list.stdout);

  const pid = d.json.replicas[0].pid;
  const t = cli(server, ['terminate', '--model-uid', 'cli-qwen']);
  assert.equal(t.code, 0, t.stderr);
  assert.ok(await waitFor(() => !pidAlive(pid)));
  assert.ok(!cli(server, ['list']).stdout.includes('cli-qwen'));
});

test('launch failures print the reason and exit non-zero', async () => {
  const r = cli(server, ['launch', '-n', 'qwen3', '-t', 'LLM']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error: .*model_path/);
  const bad = cli(server, ['terminate', '--model-uid', 'nothing']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Model not found/);
});

test('an endpoint that is not an address is refused in words, not by a crash', () => {
  // Each of these once left httplib's client without a connection: a segfault (or an uncaught
  // exception for https), which is what `scripts/serve.sh -p 0` hit with its demo launch.
  for (const [endpoint, why] of [['http://127.0.0.1:0', /'0' is not a port \(1-65535\)/],
    ['127.0.0.1:99999', /'99999' is not a port/], ['localhost:abc', /'abc' is not a port/],
    ['https://127.0.0.1:9997', /https is not supported/], ['ftp://127.0.0.1:21', /'ftp' is not a scheme/],
    ['http://:9997', /no host given/]]) {
    const r = cli(server, ['list', '-e', endpoint]);
    assert.equal(r.signal, null, `${endpoint}: killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.code, 1, endpoint);
    assert.ok(r.stderr.startsWith(`Error: cannot use the endpoint '${endpoint}': `), r.stderr);
    assert.match(r.stderr, why);
  }
});

test('serve refuses cluster addresses no node could connect to, at its start', () => {
  // Before, a bad --etcd crashed the node as it joined, and a bad --advertise crashed every other
  // node the first time it relayed a request there.
  const home = scratchDir('xinfer-cli-');
  try {
    for (const [flags, why] of [[['--etcd', 'http://127.0.0.1:0'], /the etcd endpoint 'http:\/\/127\.0\.0\.1:0' is not an address to connect to: '0' is not a port/],
      [['--etcd', 'http://127.0.0.1:2379', '--advertise', 'http://10.0.0.1:99999'],
        /--advertise http:\/\/10\.0\.0\.1:99999 is not an address other nodes can connect to: '99999' is not a port/]]) {
      const r = cli(server, ['serve', '-H', '127.0.0.1', '-p', '19', ...flags], { env: { XINFER_HOME: home } });
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, why);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a relative XINFER_HOME serves models (engine sockets are found from any directory)', async () => {
  // Relative, the engine's socket path was read as no address: the first launch aborted the service.
  const dir = scratchDir('xinfer-relhome-');
  const rel = await startServer({ home: 'home', cwd: dir });
  try {
    const r = cli(rel, ['launch', '--model-name', 'qwen2.5-instruct', '--model-type', 'LLM', '--model-path', CHAT_MODEL, '-u', 'rel']);
    assert.equal(r.code, 0, r.stderr + rel.log());
    const chat = await api(rel, 'POST', '/v1/chat/completions', { model: 'rel', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(chat.status, 200, rel.log());
    const m = await api(rel, 'GET', '/v1/models/rel');
    assert.ok(m.json.address.startsWith(join(dir, 'home') + '/'), m.json.address);
  } finally {
    await rel.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an endpoint with a path reaches the API under it (a service behind a proxy)', async () => {
  // Xinference's client joins its base URL and the API's path, so `-e http://gw/xinference` works
  // behind a proxy that serves the API under /xinference; so must xinfer's.
  const seen = [];
  const [host, port] = server.url.replace('http://', '').split(':');
  const proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (!req.url.startsWith('/xinference/')) { res.writeHead(404); res.end(); return; }
    const up = http.request({ host, port: Number(port), method: req.method, path: req.url.slice('/xinference'.length), headers: req.headers },
      (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${proxy.address().port}/xinference`;
    let r = await cliAsync(server, ['launch', '--model-name', 'qwen2.5-instruct', '--model-type', 'LLM', '--model-path', CHAT_MODEL,
      '-u', 'behind-proxy', '-e', `${base}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Model uid: behind-proxy/);
    r = await cliAsync(server, ['list', '-e', base]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^behind-proxy\s+LLM\s+qwen2\.5-instruct/m);
    r = await cliAsync(server, ['terminate', '--model-uid', 'behind-proxy'], { env: { XINFERENCE_ENDPOINT: base } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(seen.includes('GET /xinference/v1/models'), seen.join('\n'));
    assert.ok(seen.some((l) => l.startsWith('POST /xinference/v1/models')), seen.join('\n'));
    assert.ok(seen.includes('DELETE /xinference/v1/models/behind-proxy'), seen.join('\n'));
    assert.ok(!seen.some((l) => !l.includes(' /xinference/')), `every call went under the path:\n${seen.join('\n')}`);
    // An OpenAI-style base URL, /v1 included: the 404 says why.
    r = await cliAsync(server, ['list', '-e', `${server.url}/v1`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /GET \/v1\/v1\/models .*give the service's address without \/v1/);
  } finally {
    proxy.close();
  }
});

test('register, registrations, unregister; -e selects the endpoint', async () => {
  const dir = scratchDir('xinfer-cli-');
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify({ version: 2, model_name: 'cli-custom', context_length: 2048, model_lang: ['en'],
    model_ability: ['chat'], model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 0, model_uri: `file://${CHAT_MODEL}` }] }));
  const noEnv = { XINFERENCE_ENDPOINT: '' };
  let r = cli(server, ['register', '-t', 'LLM', '-f', file, '--persist', '-e', server.url], { env: noEnv });
  assert.equal(r.code, 0, r.stderr);
  r = cli(server, ['registrations', '-t', 'LLM']);
  assert.match(r.stdout, /^Type\s+Name\s+Language\s+Ability\s+Is-built-in/);
  assert.match(r.stdout, /LLM\s+cli-custom\s+en\s+chat\s+False/);
  assert.match(r.stdout, /LLM\s+qwen2\.5-instruct\s+en, zh\s+chat, tools\s+True/);

  r = cli(server, ['launch', '-n', 'cli-custom']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await api(server, 'POST', '/v1/chat/completions', { model: 'cli-custom', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 })).status, 200);
  cli(server, ['terminate', '--model-uid', 'cli-custom']);

  r = cli(server, ['unregister', '-t', 'LLM', '-n', 'cli-custom']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!cli(server, ['registrations', '-t', 'LLM']).stdout.includes('cli-custom'));
});

test('xinference and xinference-local aliases behave as Xinference commands', async () => {
  const xinference = join(dirname(BIN), 'xinference');
  const r = cli(server, ['launch', '--model-name', 'alias-model', '--model-type', 'LLM', '--model-path', CHAT_MODEL], { bin: xinference });
  assert.equal(r.code, 0, r.stderr);
  assert.match(cli(server, ['list'], { bin: xinference }).stdout, /alias-model/);
  cli(server, ['terminate', '--model-uid', 'alias-model'], { bin: xinference });

  const home = scratchDir('xinfer-local-');
  const local = spawn(join(dirname(BIN), 'xinference-local'), ['-H', '127.0.0.1', '-p', '0'],
    { env: { ...process.env, XINFER_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  local.stdout.on('data', (d) => { log += d; });
  local.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => local.on('exit', r));
  try {
    const up = await waitFor(async () => {
      const port = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1];
      try { return port && (await fetch(`http://127.0.0.1:${port}/status`)).ok; } catch { return false; }
    });
    assert.ok(up, `xinference-local serves:\n${log}`);
  } finally {
    local.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
  }
});
