// Hostile input, with authentication off: body limits per route (413), request line and header
// limits (414, 431), clients that stop sending mid-request are dropped, garbage on the socket
// leaves the service up, and launches by path stay inside the folders the operator allows
// (`serve --model-dirs`): no `../`, no symlinks out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { copyFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, sleep, CHAT_MODEL, scratchDir } from './helpers.mjs';

const dir = scratchDir('xinfer-hostile-');
const allowed = join(dir, 'models');
let server;

before(async () => {
  mkdirSync(allowed);
  copyFileSync(CHAT_MODEL, join(allowed, 'inside.gguf'));
  symlinkSync(CHAT_MODEL, join(allowed, 'link-out.gguf'));
  server = await startServer({ args: ['--max-json-mb', '1', '--max-body-mb', '2', '--read-timeout', '2', '--model-dirs', allowed] });
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Sends raw bytes on one connection; resolves with everything the server sent back before closing
// (or after `waitMs` of silence).
function raw(bytes, { waitMs = 5000, keepOpen = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    let closedByServer = false;
    const t0 = Date.now();
    const done = () => resolve({ text: Buffer.concat(chunks).toString('latin1'), closedByServer, ms: Date.now() - t0 });
    const timer = setTimeout(() => { sock.destroy(); done(); }, waitMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => {});
    sock.on('close', () => { closedByServer = true; clearTimeout(timer); done(); });
    sock.on('connect', () => { sock.write(bytes); if (!keepOpen) sock.end(); });
  });
}

const status = (text) => Number(text.match(/^HTTP\/1\.1 (\d+)/)?.[1]);
const bodyOf = (text) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

test('bodies over the route\'s limit get 413 in the error shape, before they are read', async () => {
  const big = JSON.stringify({ model: 'm', input: 'x'.repeat(1.5 * 1024 * 1024) });
  const res = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: big, headers: { 'Content-Type': 'application/json' } });
  const r = { status: res.status, json: await res.json() };  // fetch (as the openai client) reads the answer
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, 'request_too_large');
  assert.match(r.json.error.message, /limit 1048576 for JSON/);
  assert.equal((await api(server, 'POST', '/v1/embeddings', big)).status, 413);
  // An upload may be larger than a JSON body, up to its own limit.
  const boundary = 'B0undary';
  const upload = (mb) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nnone\r\n--${boundary}\r\n` +
    'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'), Buffer.alloc(mb * 1024 * 1024), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const headers = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };
  const ok = await api(server, 'POST', '/v1/audio/transcriptions', upload(1.5), headers);
  assert.notEqual(ok.status, 413, 'a 1.5 MiB upload is under the upload limit');
  assert.equal(ok.status, 404, ok.text);  // read whole, then: no such model
  // Over the upload limit: read past (never kept), then refused.
  const body = upload(3);
  const over = await raw(Buffer.concat([Buffer.from(`POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: ${headers['Content-Type']}\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`), body]));
  assert.equal(status(over.text), 413, over.text.slice(0, 300));
  assert.match(bodyOf(over.text).error.message, /too large \(limit 2097152 bytes/);
});

test('a request line over 8 KiB is a 414; a header over 8 KiB or over 100 headers a 400', async () => {
  const long = await raw(`GET /v1/models?x=${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(status(long.text), 414);
  assert.match(bodyOf(long.text).error.message, /Request line too long/);
  const big = await raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
  assert.equal(status(big.text), 400);
  assert.match(bodyOf(big.text).error.message, /at most 100, each under 8 KiB/);
  const many = Array.from({ length: 120 }, (_, i) => `X-H${i}: v\r\n`).join('');
  assert.equal(status((await raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\n${many}\r\n`)).text), 400);
});

test('a client that stops sending mid-request is dropped after the read timeout', async () => {
  const stalled = raw('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"model":', { keepOpen: true, waitMs: 15000 });
  const headersOnly = raw('GET /v1/models HTTP/1.1\r\nHost: x\r\n', { keepOpen: true, waitMs: 15000 });
  for (const r of await Promise.all([stalled, headersOnly])) {
    assert.ok(r.closedByServer, 'the server hung up');
    assert.ok(r.ms >= 1500 && r.ms < 12000, `after about the 2 s read timeout (${r.ms} ms)`);
  }
  assert.equal((await api(server, 'GET', '/status')).status, 200);
});

// The gateway accepts a connection once its first bytes arrive (TCP_DEFER_ACCEPT): a client that
// connects and waits before sending, past that second, is still accepted and answered.
test('a client that connects and sends its request only seconds later is answered', async () => {
  const late = await new Promise((resolve, reject) => {
    const sock = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    sock.on('error', reject);
    sock.on('data', (c) => chunks.push(c));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('connect', () => setTimeout(() => sock.end('GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 2500));
  });
  assert.equal(status(late), 200, late.slice(0, 300));
  assert.ok(Array.isArray(bodyOf(late).data), late.slice(0, 300));
});

test('garbage, truncated and malformed requests never take the service down', async () => {
  const junk = [
    Buffer.from([0, 255, 1, 254, 13, 10, 13, 10]), 'GET\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
    'POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc',
    'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 500\r\n\r\nhello',
    'POST /v1/audio/transcriptions HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=\r\nContent-Length: 10\r\n\r\n----\r\n----',
    'POST /v1/audio/transcriptions HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 44\r\n\r\n--x\r\nContent-Disposition: form-data\r\n\r\n--x--',
    `GET /v1/models/${'%'.repeat(500)} HTTP/1.1\r\n\r\n`, 'GET /../../../etc/passwd HTTP/1.1\r\n\r\n', 'GET /ui/../../etc/passwd HTTP/1.1\r\n\r\n',
  ];
  for (let i = 0; i < 200; i++) junk.push(Buffer.from(Array.from({ length: 64 + (i * 37) % 900 }, (_, j) => (i * 7919 + j * 104729) % 256)));
  const replies = await Promise.all(junk.map((j) => raw(j, { waitMs: 8000 })));
  for (const r of replies) if (r.text) assert.ok(status(r.text) < 500 || status(r.text) === 503, r.text.slice(0, 200));
  assert.ok(!replies.some((r) => r.text.includes('root:')), 'no file outside the UI is served');
  // Deeply nested JSON is an error, not a stack overflow.
  const deep = await api(server, 'POST', '/v1/chat/completions', '['.repeat(500000));
  assert.equal(deep.status, 400);
  const deepValid = await api(server, 'POST', '/v1/chat/completions', `{"model":${'['.repeat(100000)}${']'.repeat(100000)}}`);
  assert.equal(deepValid.status, 400);
  assert.equal((await api(server, 'GET', '/status')).status, 200);
  assert.equal(server.proc.exitCode, null);
});

test('launches by path stay inside --model-dirs: outside, ../ and symlinks out are refused', async () => {
  for (const path of [CHAT_MODEL, join(allowed, '..', '..', 'x.gguf'), join(allowed, 'link-out.gguf'), '/etc/passwd', `file://${CHAT_MODEL}`]) {
    const r = await api(server, 'POST', '/v1/models', { model_uid: 'out', model_name: 'c', model_path: path });
    assert.equal(r.status, 403, `${path}: ${r.text}`);
    assert.match(r.json.error.message, /outside the folders models may be launched from .*--model-dirs/);
  }
  // A registration naming a file outside is refused at launch in the same way.
  const spec = { version: 2, model_name: 'outside-reg', model_lang: ['en'], model_ability: ['chat'], model_family: 'llama-2',
    context_length: 2048, model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 1, quantization: 'none', model_uri: CHAT_MODEL }] };
  const reg = await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(spec), persist: false });
  assert.equal(reg.status, 200, reg.text);
  const viaReg = await api(server, 'POST', '/v1/models', { model_uid: 'reg', model_name: 'outside-reg', model_type: 'LLM' });
  assert.equal(viaReg.status, 403, viaReg.text);
  const inside = await api(server, 'POST', '/v1/models', { model_uid: 'in', model_name: 'c', model_path: join(allowed, 'inside.gguf'), wait_ready: true });
  assert.equal(inside.status, 200, inside.text);
  assert.equal((await api(server, 'DELETE', '/v1/models/in')).status, 200);
});
