// Model management over REST: launch, list, describe, progress, terminate; two models at once;
// an engine killed with SIGKILL; the error cases; registrations that survive a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, copyFileSync, truncateSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, api, pidAlive, waitFor, engineBusy, openChatStream, CHAT_MODEL, LLAMA3_MODEL, scratchDir } from './helpers.mjs';

let server;
const scratch = scratchDir('xinfer-files-');

// Restarts off: these tests check what happens when an engine dies for good (lifecycle.test.mjs
// covers restarts).
const env = { XINFER_MAX_RESTARTS: '0' };
before(async () => { server = await startServer({ env }); });
after(async () => server?.stop());

const chat = (model, extra = {}) => api(server, 'POST', '/v1/chat/completions',
  { model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, ...extra });

test('launch without waiting shows progress, then ready; terminate ends the engine process', async () => {
  const r = await api(server, 'POST', '/v1/models?wait_ready=false',
    { model_name: 'qwen2.5-instruct', model_type: 'LLM', model_path: CHAT_MODEL, model_uid: 'q1' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.model_uid, 'q1');
  let last = -1;
  const ready = await waitFor(async () => {
    const p = await api(server, 'GET', '/v1/models/q1/progress');
    assert.equal(p.status, 200);
    assert.ok(p.json.progress >= last, 'progress never goes back');
    last = p.json.progress;
    return p.json.status === 'ready';
  }, { timeout: 60000 });
  assert.ok(ready);
  assert.equal(last, 1);

  const d = await api(server, 'GET', '/v1/models/q1');
  assert.equal(d.json.model_name, 'qwen2.5-instruct');
  assert.equal(d.json.context_length, 32768, 'catalog spec is used');
  assert.deepEqual(d.json.model_ability, ['chat', 'tools']);
  const pid = d.json.replicas[0].pid;
  assert.ok(pidAlive(pid));

  const list = await api(server, 'GET', '/v1/models');
  assert.equal(list.json.object, 'list');
  assert.ok(list.json.data.some((m) => m.id === 'q1' && m.object === 'model' && m.model_type === 'LLM'));

  const del = await api(server, 'DELETE', '/v1/models/q1');
  assert.equal(del.status, 200);
  assert.ok(await waitFor(() => !pidAlive(pid)), 'engine process is gone');
  assert.equal((await api(server, 'GET', '/v1/models/q1')).status, 404);
  assert.equal((await chat('q1')).status, 404);
});

test('two models served at once; killing one engine fails only that model', async () => {
  await launch(server, { model_name: 'tiny-a', model_path: CHAT_MODEL });
  await launch(server, { model_name: 'tiny-b', model_path: LLAMA3_MODEL, n_ctx: 1024 });
  assert.equal((await chat('tiny-a')).status, 200);
  assert.equal((await chat('tiny-b')).status, 200);

  const pid = (await api(server, 'GET', '/v1/models/tiny-a')).json.replicas[0].pid;
  process.kill(pid, 'SIGKILL');
  assert.ok(await waitFor(async () => (await api(server, 'GET', '/v1/models/tiny-a')).json.status === 'failed'));
  const d = await api(server, 'GET', '/v1/models/tiny-a');
  assert.match(d.json.failure_reason, /signal 9/);
  assert.match(d.json.failure_reason, /restarts are used up/);

  const r = await chat('tiny-a');
  assert.equal(r.status, 503);
  assert.match(r.json.error.message, /not available/);
  assert.equal(r.json.detail, r.json.error.message);
  assert.equal((await chat('tiny-b')).status, 200, 'the other model is untouched');
  assert.equal((await api(server, 'GET', '/status')).status, 200);

  // A failed model can be launched again under the same uid.
  await launch(server, { model_name: 'tiny-a', model_path: CHAT_MODEL });
  assert.equal((await chat('tiny-a')).status, 200);
  await api(server, 'DELETE', '/v1/models/tiny-a');
  await api(server, 'DELETE', '/v1/models/tiny-b');
});

test('bad requests get OpenAI-shaped errors with the right status and the service stays up', async () => {
  await launch(server, { model_name: 'tiny-e', model_path: CHAT_MODEL });
  const cases = [
    [await chat('no-such-model'), 404],
    [await api(server, 'POST', '/v1/chat/completions', '{"model": "tiny-e", "messages": [}'), 400],
    [await api(server, 'POST', '/v1/chat/completions', { model: 'tiny-e', messages: 'hi' }), 400],
    [await api(server, 'POST', '/v1/chat/completions', { model: 'tiny-e', messages: [{ role: 'user', content: 'x' }], max_tokens: 'ten' }), 400],
    [await api(server, 'POST', '/v1/chat/completions', { model: 'tiny-e', messages: [{ role: 'user', content: 'x' }], temperature: 9 }), 400],
    [await api(server, 'POST', '/v1/chat/completions', { model: 42, messages: [] }), 400],
    [await api(server, 'POST', '/v1/completions', { model: 'tiny-e' }), 400],
    [await api(server, 'POST', '/v1/chat/completions', 'x'.repeat(70 * 1024 * 1024)), 413],
    [await api(server, 'GET', '/v1/nothing-here'), 404],
    [await api(server, 'DELETE', '/v1/models/never-launched'), 404],
  ];
  for (const [r, status] of cases) {
    assert.equal(r.status, status, r.text.slice(0, 300));
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(typeof r.json.error.type, 'string');
    assert.equal(r.json.detail, r.json.error.message);
  }
  assert.equal((await chat('tiny-e')).status, 200, 'still serving after bad input');
  await api(server, 'DELETE', '/v1/models/tiny-e');
});

test('launch failures come back with the reason', async () => {
  const notGguf = join(scratch, 'notes.gguf');
  writeFileSync(notGguf, 'definitely not a model');
  const truncated = join(scratch, 'truncated.gguf');
  copyFileSync(CHAT_MODEL, truncated);
  truncateSync(truncated, Math.floor(statSync(CHAT_MODEL).size / 2));

  const missing = await api(server, 'POST', '/v1/models', { model_name: 'm1', model_path: join(scratch, 'nope.gguf') });
  assert.equal(missing.status, 400);
  assert.match(missing.json.detail, /does not exist/);

  const bad = await api(server, 'POST', '/v1/models', { model_name: 'm2', model_path: notGguf });
  assert.equal(bad.status, 400);
  assert.match(bad.json.detail, /not a GGUF/);

  const unknown = await api(server, 'POST', '/v1/models', { model_name: 'no-such-family' });
  assert.equal(unknown.status, 404);

  const option = await api(server, 'POST', '/v1/models', { model_name: 'm3', model_path: CHAT_MODEL, n_ctxx: 5 });
  assert.equal(option.status, 400);
  assert.match(option.json.detail, /n_ctxx/);

  // The header is fine but the weights are cut short: the engine itself refuses, and says why.
  const engine = await api(server, 'POST', '/v1/models', { model_name: 'm4', model_path: truncated });
  assert.equal(engine.status, 500, engine.text);
  assert.match(engine.json.detail, /engine process exited/);
  assert.match(engine.json.detail, /Last engine log lines/);
  assert.equal((await api(server, 'GET', '/v1/models/m4')).status, 404, 'a failed wait_ready launch is not left behind');

  const dup1 = await launch(server, { model_name: 'dup', model_path: CHAT_MODEL });
  const dup2 = await api(server, 'POST', '/v1/models', { model_name: 'dup', model_path: CHAT_MODEL });
  assert.equal(dup2.status, 409);
  await api(server, 'DELETE', `/v1/models/${dup1}`);
});

test('registrations: register, list, launch by registered name, persist across restart', async () => {
  const spec = {
    version: 2, model_name: 'my-tiny', context_length: 4096, model_lang: ['en'], model_ability: ['chat'],
    model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 0, quantization: 'f16', model_uri: `file://${CHAT_MODEL}` }],
  };
  let r = await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(spec), persist: true });
  assert.equal(r.status, 200, r.text);
  r = await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify({ ...spec, model_name: 'temp-tiny' }), persist: false });
  assert.equal(r.status, 200);
  assert.equal((await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(spec), persist: true })).status, 409);
  assert.equal((await api(server, 'POST', '/v1/model_registrations/LLM', { model: '{not json' })).status, 400);

  const list = await api(server, 'GET', '/v1/model_registrations/LLM');
  assert.ok(list.json.some((m) => m.model_name === 'my-tiny' && m.is_builtin === false));
  assert.ok(list.json.some((m) => m.model_name === 'qwen2.5-instruct' && m.is_builtin === true));
  const one = await api(server, 'GET', '/v1/model_registrations/LLM/my-tiny');
  assert.equal(one.json.context_length, 4096);

  const uid = await launch(server, { model_name: 'my-tiny', model_type: 'LLM' });
  assert.equal((await chat(uid)).status, 200);
  await api(server, 'DELETE', `/v1/models/${uid}`);

  await server.stop({ keepHome: true });
  server = await startServer({ home: server.home, env });
  assert.equal((await api(server, 'GET', '/v1/model_registrations/LLM/my-tiny')).status, 200, 'persisted');
  assert.equal((await api(server, 'GET', '/v1/model_registrations/LLM/temp-tiny')).status, 404, 'not persisted');
  assert.equal((await api(server, 'DELETE', '/v1/model_registrations/LLM/my-tiny')).status, 200);
  assert.equal((await api(server, 'DELETE', '/v1/model_registrations/LLM/qwen3')).status, 400);
  await server.stop({ keepHome: true });
  server = await startServer({ home: server.home, env });
  assert.equal((await api(server, 'GET', '/v1/model_registrations/LLM/my-tiny')).status, 404, 'unregistration persisted');
});

test('a registered GGUF folder: the file is the one its spec\'s file name template names, for the quantization asked', async () => {
  // As Xinference's llama.cpp engine finds it: model_uri joined with model_file_name_template
  // filled with the spec's quantization. The folder holds other GGUFs of the same quantization
  // whose names sort first; a template without {quantization} names its file outright.
  const outside = scratchDir('xinfer-gguf-');  // the folder's parent: a template must not reach it
  const dir = join(outside, 'folder');
  mkdirSync(dir);
  copyFileSync(CHAT_MODEL, join(dir, 'aaa-other-F16.gguf'));
  copyFileSync(CHAT_MODEL, join(dir, 'aaa-other-Q8_0.gguf'));
  copyFileSync(LLAMA3_MODEL, join(dir, 'mine-F16.gguf'));
  copyFileSync(LLAMA3_MODEL, join(dir, 'mine-Q8_0.gguf'));
  copyFileSync(CHAT_MODEL, join(dir, 'plain.gguf'));
  const entry = (quantization, template) => ({
    model_format: 'ggufv2', model_size_in_billions: 0, quantization, model_file_name_template: template, model_uri: dir,
  });
  const spec = {
    version: 2, model_name: 'my-folder', context_length: 2048, model_lang: ['en'], model_ability: ['chat'],
    model_specs: [entry('F16', 'mine-{quantization}.gguf'), entry('Q8_0', 'mine-{quantization}.gguf')],
  };
  assert.equal((await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(spec), persist: false })).status, 200);
  for (const quantization of ['F16', 'q8_0']) {
    const r = await api(server, 'POST', '/v1/models', { model_name: 'my-folder', model_type: 'LLM', model_format: 'ggufv2', quantization });
    assert.equal(r.status, 200, r.text);
    const d = (await api(server, 'GET', `/v1/models/${r.json.model_uid}`)).json;
    assert.equal(d.model_path, join(dir, `mine-${quantization.toUpperCase()}.gguf`));
    assert.equal(d.quantization.toUpperCase(), quantization.toUpperCase());
    assert.equal(d.architecture, 'llama');
    await api(server, 'DELETE', `/v1/models/${r.json.model_uid}`);
  }
  const plain = { ...spec, model_name: 'my-plain', model_specs: [entry('F16', 'plain.gguf')] };
  assert.equal((await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(plain), persist: false })).status, 200);
  const uid = await launch(server, { model_name: 'my-plain', model_type: 'LLM' });
  assert.equal((await api(server, 'GET', `/v1/models/${uid}`)).json.model_path, join(dir, 'plain.gguf'));
  assert.equal((await chat(uid)).status, 200);
  await api(server, 'DELETE', `/v1/models/${uid}`);
  // A quantization the spec does not list is not its file under another name: the folder has none.
  const other = await api(server, 'POST', '/v1/models', { model_name: 'my-plain', model_type: 'LLM', quantization: 'Q4_K_M' });
  assert.equal(other.status, 400, other.text);
  assert.match(other.json.detail, /no \.gguf file for quantization 'Q4_K_M'/);
  // A template that leaves the folder is not followed; a malformed spec is read as far as it goes.
  copyFileSync(LLAMA3_MODEL, join(outside, 'outside-F16.gguf'));
  const odd = { ...spec, model_name: 'my-odd', model_specs: [entry('F16', '../outside-{quantization}.gguf')] };
  const bad = { ...spec, model_name: 'my-bad', model_specs: [{ ...entry('F16', 'mine-{quantization}.gguf'), quantizations: 'F16' }] };
  for (const [s, quantization] of [[odd, 'F16'], [bad, undefined]]) {
    assert.equal((await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(s), persist: false })).status, 200);
    const r = await api(server, 'POST', '/v1/models', { model_name: s.model_name, model_type: 'LLM', quantization });
    assert.equal(r.status, 200, r.text);
    assert.equal((await api(server, 'GET', `/v1/models/${r.json.model_uid}`)).json.model_path, join(dir, 'aaa-other-F16.gguf'), s.model_name);
    await api(server, 'DELETE', `/v1/models/${r.json.model_uid}`);
  }
  for (const name of ['my-folder', 'my-plain', 'my-odd', 'my-bad']) await api(server, 'DELETE', `/v1/model_registrations/LLM/${name}`);
});

test('replicas: -r 2 runs two engine processes and requests are spread over them', async () => {
  const uid = await launch(server, { model_name: 'tiny-r', model_path: CHAT_MODEL, replica: 2, n_ctx: 16384 });
  const d = (await api(server, 'GET', `/v1/models/${uid}`)).json;
  assert.equal(d.replicas.length, 2);
  const pids = d.replicas.map((r) => r.pid);
  assert.notEqual(pids[0], pids[1]);
  assert.ok(pids.every(pidAlive));
  // A long stream keeps one replica busy; the least-busy rule must send the next one to the
  // other. Each engine is asked itself whether it is generating.
  const long = { model: uid, max_tokens: 16000, ignore_eos: true };
  const one = await openChatStream(server, long);
  const two = await openChatStream(server, long);
  try {
    const busy = async () => Promise.all(d.replicas.map((r) => engineBusy(r.address)));
    assert.ok(await waitFor(async () => (await busy()).every(Boolean)), 'both engines generate at once');
  } finally {
    one.close();
    two.close();
  }
  await api(server, 'DELETE', `/v1/models/${uid}`);
  assert.ok(await waitFor(() => pids.every((p) => !pidAlive(p))));
});
