// The CLI as a user runs it: launch with a progress bar, list, terminate, registrations, and the
// Xinference command names (`xinference`, `xinference-local`) working as aliases.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import { startServer, api, cli, pidAlive, waitFor, BIN, CHAT_MODEL } from './helpers.mjs';

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

test('register, registrations, unregister; -e selects the endpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xinfer-cli-'));
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

  const home = mkdtempSync(join(tmpdir(), 'xinfer-local-'));
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
