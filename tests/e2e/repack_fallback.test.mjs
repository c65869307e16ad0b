// Engines that crash in llama.cpp's repacked-weight kernels (AMX on CPUs that advertise it
// without letting programs use it: some VMs) are started again without repacking, and the
// machine remembers it. The deterministic tests stand llama-server behind a script that dies of a
// real SIGILL while repacking is on, as llama-server does on such a VM; the last test serves a
// real Q8_0 model, which crashes that way on such a machine and loads directly elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync, readFileSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, api, CHAT_MODEL, EMBED_MODEL, MODELS, scratchDir } from './helpers.mjs';

const LLAMA_SERVER = join(process.env.XINFER_BIN ?? '', '..', 'llama-server');
const Q8_MODEL = join(MODELS ?? '', 'tiny-chat-q8.gguf');

// A llama-server that dies of SIGILL unless repacking is off (or always, with CRASH_ALWAYS=1 in
// the launch's envs: a crash that has nothing to do with repacking).
function faultyLlamaServer() {
  const dir = scratchDir('xinfer-amx-');
  const script = join(dir, 'llama-server');
  writeFileSync(script, `#!/bin/bash
ulimit -c 0
if [ "$LLAMA_ARG_REPACK" != 0 ] || [ "$CRASH_ALWAYS" = 1 ]; then kill -ILL $$; fi
exec ${JSON.stringify(LLAMA_SERVER)} "$@"
`);
  chmodSync(script, 0o755);
  return { dir, script };
}

const chat = (server, model) => api(server, 'POST', '/v1/chat/completions',
  { model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 });
const describe = async (server, uid) => (await api(server, 'GET', `/v1/models/${uid}`)).json;
const events = async (server, uid) => (await api(server, 'GET', `/v1/models/${uid}/events`)).json;
const engineEnv = async (server, uid) => readFileSync(`/proc/${(await describe(server, uid)).replicas[0].pid}/environ`, 'latin1').split('\0');

test('an engine that dies of SIGILL with repacked weights runs without them, and the machine remembers', async () => {
  const faulty = faultyLlamaServer();
  const home = scratchDir('xinfer-e2e-');
  let server = await startServer({ home, env: { XINFER_LLAMA_SERVER: faulty.script } });
  try {
    await launch(server, { model_uid: 'chat', model_name: 'chat', model_path: CHAT_MODEL });
    assert.equal((await chat(server, 'chat')).status, 200);
    const ev = await events(server, 'chat');
    assert.ok(ev.some((e) => e.event === 'replica_exit' && /Illegal instruction/.test(e.detail)), JSON.stringify(ev));
    assert.ok(ev.some((e) => e.event === 'restarting' && /LLAMA_ARG_REPACK=0/.test(e.detail)), JSON.stringify(ev));
    assert.ok((await engineEnv(server, 'chat')).includes('LLAMA_ARG_REPACK=0'));
    assert.match(server.log(), /WARN .*repacked-weight kernels/);
    assert.ok(existsSync(join(home, 'repack-off')), 'remembered in XINFER_HOME');
    // From now on every engine starts without repacking, the model host's encoders too.
    await launch(server, { model_uid: 'embed', model_name: 'embed', model_type: 'embedding', model_path: EMBED_MODEL });
    assert.ok((await engineEnv(server, 'embed')).includes('LLAMA_ARG_REPACK=0'));
    await server.stop({ keepHome: true });

    // The next run on this machine starts without repacking at once: no crash first.
    server = await startServer({ home, env: { XINFER_LLAMA_SERVER: faulty.script } });
    await launch(server, { model_uid: 'again', model_name: 'again', model_path: CHAT_MODEL });
    assert.equal((await chat(server, 'again')).status, 200);
    assert.ok(!(await events(server, 'again')).some((e) => e.event === 'replica_exit'));
    assert.ok((await engineEnv(server, 'again')).includes('LLAMA_ARG_REPACK=0'));
  } finally {
    await server.stop();
    rmSync(faulty.dir, { recursive: true, force: true });
  }
});

test('an engine that crashes without repacking too fails its launch with the crash, and nothing is remembered', async () => {
  const faulty = faultyLlamaServer();
  const server = await startServer({ env: { XINFER_LLAMA_SERVER: faulty.script } });
  try {
    const r = await api(server, 'POST', '/v1/models',
      { model_uid: 'broken', model_name: 'broken', model_path: CHAT_MODEL, envs: { CRASH_ALWAYS: '1' } });
    assert.equal(r.status, 500, r.text);
    assert.match(r.text, /Illegal instruction/);
    // Tried once without repacking (not in a loop), then given up.
    const ev = await events(server, 'broken');
    assert.equal(ev.filter((e) => e.event === 'restarting').length, 1, JSON.stringify(ev));
    assert.ok(!existsSync(join(server.home, 'repack-off')));
    // The other models start with repacking on, as before.
    await launch(server, { model_uid: 'embed', model_name: 'embed', model_type: 'embedding', model_path: EMBED_MODEL });
    assert.ok(!(await engineEnv(server, 'embed')).includes('LLAMA_ARG_REPACK=0'));
  } finally {
    await server.stop();
    rmSync(faulty.dir, { recursive: true, force: true });
  }
});

test('a Q8_0 model serves on this machine (where AMX kernels fault, after one crash)', async () => {
  const server = await startServer();
  try {
    await launch(server, { model_uid: 'q8', model_name: 'q8', model_path: Q8_MODEL });
    const r = await chat(server, 'q8');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.usage.completion_tokens, 4);
    const crashed = (await events(server, 'q8')).some((e) => e.event === 'replica_exit');
    // Either the kernels ran, or they crashed and the fallback took over (and is remembered).
    assert.equal(existsSync(join(server.home, 'repack-off')), crashed);
    if (crashed) assert.ok((await engineEnv(server, 'q8')).includes('LLAMA_ARG_REPACK=0'));
  } finally {
    await server.stop();
  }
});
