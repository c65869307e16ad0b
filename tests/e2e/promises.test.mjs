// README promises of the life cycle, each checked so that breaking it fails the test: crash
// back-off timing, draining on SIGTERM (503 for new requests, the deadline), deployment files
// that disable a model, idle unload giving back its reservation, keep_alive -1, and no orphans
// after kill -9 with speech hosts running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, api, pidAlive, waitFor, engineBusy, CHAT_MODEL, EMBED_MODEL, scratchDir } from './helpers.mjs';

const describe = async (server, uid) => (await api(server, 'GET', `/v1/models/${uid}`)).json;
const reservations = async (server) => (await api(server, 'GET', '/v1/cluster/info')).json[0].reservations;

test('crash recovery with the default back-off: 1 s, 2 s, 4 s, then failed after 3 restarts', async () => {
  const server = await startServer();
  try {
    await launch(server, { model_name: 'backoff', model_path: CHAT_MODEL });
    for (let round = 1; round <= 4; round++) {
      const d = await describe(server, 'backoff');
      process.kill(d.replicas[0].pid, 'SIGKILL');
      if (round === 4) break;
      assert.ok(await waitFor(async () => {
        const now = await describe(server, 'backoff');
        return now.status === 'ready' && now.replicas[0].pid !== d.replicas[0].pid;
      }, { timeout: 30000 }), `restart ${round}`);
    }
    assert.ok(await waitFor(async () => (await describe(server, 'backoff')).status === 'failed', { timeout: 30000 }));
    assert.match((await describe(server, 'backoff')).failure_reason, /3 restarts are used up/);
    const events = (await api(server, 'GET', '/v1/models/backoff/events')).json;
    const scheduled = events.filter((e) => e.event === 'restart_scheduled').map((e) => e.detail);
    assert.deepEqual(scheduled, ['replica 0 in 1000 ms (restart 1 of 3)', 'replica 0 in 2000 ms (restart 2 of 3)',
      'replica 0 in 4000 ms (restart 3 of 3)']);
    // And the waits were kept: each restart began no sooner than its back-off after the crash.
    const exits = events.filter((e) => e.event === 'replica_exit').map((e) => e.time);
    const restarts = events.filter((e) => e.event === 'restarting').map((e) => e.time);
    [1, 2, 4].forEach((s, i) => assert.ok(restarts[i] - exits[i] >= s - 0.05, `restart ${i + 1} waited ${restarts[i] - exits[i]} s`));
  } finally {
    await server.stop();
  }
});

test('SIGTERM: new requests get 503 while a stream drains; --drain-seconds cuts a stream that outlasts it', async () => {
  const server = await startServer({ args: ['--drain-seconds', '2'] });
  try {
    await launch(server, { model_name: 'drainer', model_path: CHAT_MODEL, n_ctx: 4096 });
    const d = await describe(server, 'drainer');
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'drainer', messages: [{ role: 'user', content: 'go' }], max_tokens: 4000, ignore_eos: true, stream: true }) });
    const reader = res.body.getReader();
    await reader.read();
    assert.ok(await engineBusy(d.replicas[0].address), 'the stream is in flight when the signal comes');
    const signalled = Date.now();
    server.proc.kill('SIGTERM');
    assert.ok(await waitFor(async () => (await api(server, 'GET', '/status').catch(() => ({ status: 0 }))).status === 503),
      'draining: new requests are refused');
    const refused = await api(server, 'POST', '/v1/chat/completions', { model: 'drainer', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(refused.status, 503);
    assert.match(refused.json.detail, /shutting down/);
    let body = '';
    for (;;) {
      let chunk;
      try { chunk = await reader.read(); } catch { break; }
      if (chunk.done) break;
      body += Buffer.from(chunk.value).toString();
    }
    const exit = await server.exited;
    assert.ok(!body.trimEnd().endsWith('data: [DONE]'), 'the stream outlasting the deadline was cut');
    assert.ok(Date.now() - signalled >= 2000, 'not before the deadline');
    assert.ok(!pidAlive(d.replicas[0].pid));
    assert.notEqual(exit.code, null);
  } finally {
    await server.stop();
  }
});

test('a deployment file with enable: false stops a model that runs', async () => {
  const dir = scratchDir('xinfer-enable-');
  const on = join(dir, 'on.json'), off = join(dir, 'off.json');
  const entry = { model_uid: 'toggled', model_name: 'qwen2.5-instruct', model_path: CHAT_MODEL };
  writeFileSync(on, JSON.stringify({ models: [{ ...entry, enable: true }] }));
  writeFileSync(off, JSON.stringify({ models: [{ ...entry, enable: false }] }));
  let server = await startServer({ args: ['--config', on] });
  try {
    assert.ok(await waitFor(async () => (await describe(server, 'toggled'))?.status === 'ready', { timeout: 30000 }));
    const pid = (await describe(server, 'toggled')).replicas[0].pid;
    await server.stop({ keepHome: true });
    assert.ok(await waitFor(() => !pidAlive(pid)));
    server = await startServer({ home: server.home, args: ['--config', off] });
    assert.equal((await api(server, 'GET', '/v1/models/toggled')).status, 404, 'restored, then stopped by the file');
    assert.match(server.log(), /"toggled":"terminated"/);
    await server.stop({ keepHome: true });
    server = await startServer({ home: server.home });
    assert.equal((await api(server, 'GET', '/v1/models/toggled')).status, 404, 'and it does not come back');
  } finally {
    await server.stop();
  }
});

test('idle unload gives back the reservation; keep_alive -1 never unloads while serve --keep-alive unloads the rest', async () => {
  const server = await startServer({ args: ['--keep-alive', '1'] });
  try {
    await launch(server, { model_name: 'forever', model_path: CHAT_MODEL, keep_alive: -1 });
    await launch(server, { model_name: 'napper', model_type: 'embedding', model_path: EMBED_MODEL });
    assert.ok((await reservations(server)).some((r) => r.replica === 'napper#0'));
    assert.ok(await waitFor(async () => (await describe(server, 'napper')).status === 'idle_unloaded', { timeout: 15000 }),
      'the server-wide keep_alive unloads an idle model');
    // (The engine stops first, then its reservation goes.)
    assert.ok(await waitFor(async () => !(await reservations(server)).some((r) => r.replica === 'napper#0')),
      'its cores and memory are free again');
    assert.equal((await describe(server, 'forever')).status, 'ready', 'keep_alive -1 outlasts it');
    assert.ok((await reservations(server)).some((r) => r.replica === 'forever#0'));
    // A request reloads it and takes the reservation again.
    const r = await api(server, 'POST', '/v1/embeddings', { model: 'napper', input: 'wake up' });
    assert.equal(r.status, 200, r.text);
    assert.ok((await reservations(server)).some((x) => x.replica === 'napper#0'));
  } finally {
    await server.stop();
  }
});

test('kill -9 of the service with speech hosts running leaves no process behind', async () => {
  const server = await startServer();
  try {
    await launch(server, { model_name: 'pocketsphinx-en-us', model_type: 'audio' });
    await launch(server, { model_name: 'espeak-ng', model_type: 'audio' });
    await launch(server, { model_name: 'orphan-chat', model_path: CHAT_MODEL });
    const speech = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'espeak-ng', input: 'hello', response_format: 'wav' }) });
    assert.equal(speech.status, 200);
    const pids = [];
    for (const uid of ['pocketsphinx-en-us', 'espeak-ng', 'orphan-chat']) pids.push(...(await describe(server, uid)).replicas.map((r) => r.pid));
    server.proc.kill('SIGKILL');
    await server.exited;
    assert.ok(await waitFor(() => pids.every((p) => !pidAlive(p))), 'every host and engine died with the service');
  } finally {
    await server.stop();
  }
});
