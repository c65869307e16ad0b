// Shared by the end-to-end tests: start the real xinfer binary on a free loopback port with its
// own XINFER_HOME, talk to it over HTTP, and clean up every process afterwards.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import http from 'node:http';

export const BIN = process.env.XINFER_BIN;
export const MODELS = process.env.XINFER_TEST_MODELS;
export const CHAT_MODEL = join(MODELS ?? '', 'tiny-chat.gguf');
export const LLAMA3_MODEL = join(MODELS ?? '', 'tiny-llama3.gguf');
export const EMBED_MODEL = join(MODELS ?? '', 'tiny-embed.gguf');
export const RERANK_MODEL = join(MODELS ?? '', 'tiny-rerank.gguf');
export const WHISPER_MODEL = join(MODELS ?? '', 'tiny-whisper.bin');
// Qwen3-ASR: a folder with the text model (model.gguf) and its audio projector (mmproj-model.gguf).
export const QWEN3_ASR_MODEL = join(MODELS ?? '', 'tiny-qwen3-asr');
// Qwen3-TTS: the talker (model.gguf) and its speech projector (mmproj-model.gguf).
export const QWEN3_TTS_MODEL = join(MODELS ?? '', 'tiny-qwen3-tts');
// Pocket TTS: the backbone (model.gguf) and its projector (mmproj-model.gguf).
export const POCKET_TTS_MODEL = join(MODELS ?? '', 'tiny-pocket-tts');
export const LLAMA_BIN = process.env.LLAMA_BIN;

if (!BIN || !existsSync(BIN)) throw new Error('XINFER_BIN must point at the built xinfer binary');

// A 16 kHz mono 16-bit WAV (flite's speech as the tests make it) repeated to at least `seconds`.
export function repeatWav(wav, seconds) {
  const pcm = wav.subarray(44);
  const parts = [];
  while (parts.length * pcm.length < 16000 * 2 * seconds) parts.push(pcm);
  const data = Buffer.concat(parts);
  const header = Buffer.from(wav.subarray(0, 44));
  header.writeUInt32LE(36 + data.length, 4);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A temporary folder of this test file, removed when its process exits (node --test runs each file
// in a process of its own), so that repeated runs do not fill /tmp with copies of models and homes.
const scratchDirs = [];
process.on('exit', () => {
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
});
export function scratchDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(d);
  return d;
}

// Starts `xinfer serve` on a port the kernel picks (-p 0: no window in which another process can
// take it), learns the port from the log line, and resolves once /status answers.
// `home` lets a test restart on the same state.
export async function startServer({ home, args = [], env = {}, cwd } = {}) {
  home ??= scratchDir('xinfer-e2e-');
  let log = '';
  const proc = spawn(BIN, ['serve', '-H', '127.0.0.1', '-p', '0', ...args], {
    cwd,  // `home` may be relative to it
    // Engines get the threads the product gives them on this machine (the shared budget lets
    // the tests' several models run side by side).
    env: { ...process.env, XINFER_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The service's log also goes to a file, to read when a test fails.
  const logFile = join(tmpdir(), `xinfer-e2e-${proc.pid}.log`);
  const keep = (d) => { log += d; appendFileSync(logFile, d); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exitNote = (code, signal) => appendFileSync(logFile, `\n[xinfer exited code=${code} signal=${signal}]\n`);
  proc.on('exit', exitNote);
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const listening = () => log.match(/xinfer listening on http:\/\/127\.0\.0\.1:(\d+)/);
  let up = false;
  for (let i = 0; i < 400 && !up; i++) {
    if (listening()) {
      try {
        up = (await fetch(`http://127.0.0.1:${listening()[1]}/status`)).ok;
      } catch {}
    }
    if (proc.exitCode !== null) throw new Error(`xinfer exited early:\n${log}`);
    if (!up) await sleep(50);
  }
  if (!up) {
    proc.kill('SIGKILL');
    throw new Error(`xinfer did not answer /status within 20 s (log in ${logFile}):\n${log}`);
  }
  const port = Number(listening()[1]);
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port, home, proc, exited,
    log: () => log,
    async stop({ keepHome = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
      if (!keepHome) rmSync(cwd ? resolve(cwd, home) : home, { recursive: true, force: true });
    },
  };
}

// One HTTP request on a fresh connection. (fetch would reuse keep-alive sockets, and the tests'
// synchronous CLI calls block the event loop long enough for the server to close them: a race
// that belongs to the test client, not to the server under test.)
export function api(server, method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(server.url + path, {
      method, agent: false,
      headers: { ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, json, text, headers: res.headers });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

export async function launch(server, body) {
  const r = await api(server, 'POST', '/v1/models', { wait_ready: true, ...body });
  if (r.status !== 200) throw new Error(`launch failed: ${r.status} ${r.text}`);
  return r.json.model_uid;
}

// Runs the CLI synchronously against a server; returns { code, stdout, stderr }.
export function cli(server, args, { bin = BIN, env = {} } = {}) {
  try {
    const stdout = execFileSync(bin, args, {
      env: { ...process.env, XINFERENCE_ENDPOINT: server.url, ...env },
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000,
    });
    return { code: 0, signal: null, stdout, stderr: '' };
  } catch (e) {
    return { code: e.status ?? 1, signal: e.signal ?? null, stdout: e.stdout?.toString() ?? '', stderr: e.stderr?.toString() ?? '' };
  }
}

// The same without blocking this process (for commands that talk to a server the test runs itself).
export function cliAsync(server, args, { bin = BIN, env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, XINFERENCE_ENDPOINT: server.url, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

// A request straight to an engine replica (unix socket or host:port), to check what it really does.
export function engine(address, method, path, body, { raw = false } = {}) {
  const target = address.endsWith('.sock') ? { socketPath: address } : { host: address.split(':')[0], port: Number(address.split(':')[1]) };
  return new Promise((resolve, reject) => {
    const data = body ? Buffer.from(JSON.stringify(body)) : null;
    const req = http.request({ ...target, path, method, agent: false,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve(raw ? text : JSON.parse(text)));
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// Whether any slot of a llama-server replica is generating right now.
export const engineBusy = async (address) => (await engine(address, 'GET', '/slots')).some((s) => s.is_processing);

export function pidAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

export async function waitFor(pred, { timeout = 10000, interval = 50 } = {}) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(interval);
  }
  return false;
}

// Starts a streaming chat and resolves once its first chunk has arrived, so the request is known
// to be in flight. `rest()` reads it to the end; `close()` hangs up from the client side.
export async function openChatStream(server, body) {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: controller.signal,
    body: JSON.stringify({ messages: [{ role: 'user', content: 'go' }], ...body, stream: true }),
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const first = await reader.read();
  let text = first.done ? '' : decoder.decode(first.value, { stream: true });
  let ended = first.done;
  return {
    status: res.status,
    ended: () => ended,
    async rest() {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) { ended = true; return text; }
        text += decoder.decode(value, { stream: true });
      }
    },
    close() { controller.abort(); reader.cancel().catch(() => {}); },
  };
}
