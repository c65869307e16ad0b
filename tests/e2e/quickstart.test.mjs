// The README's first command, as a new user runs it: `scripts/serve.sh` starts the service and
// launches the demo chat model, which then answers; Ctrl-C stops both, the service's shutdown shown. With `-p 0`
// the script must find the port the service picked (it once launched the demo at port 0, and the
// CLI crashed). Set-up is skipped (XINFER_SKIP_SETUP=1): CI has just run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, realpathSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { BIN, pidAlive, waitFor, sleep, scratchDir } from './helpers.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// The script runs the repository's own build (build/bin/xinfer); against another build there
// is nothing of this to check.
const ownBuild = existsSync(join(repo, 'build/bin/xinfer')) && realpathSync(BIN) === realpathSync(join(repo, 'build/bin/xinfer'));

// Runs scripts/serve.sh ARGS in a process group of its own.
function serveScript(args, home) {
  const child = spawn('bash', ['scripts/serve.sh', ...args], {
    cwd: repo, env: { ...process.env, XINFER_SKIP_SETUP: '1', XINFER_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,  // its own process group: a failed test kills the script and all it started
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const ended = new Promise((r) => child.on('close', (code, signal) => r({ code, signal })));
  const signalAll = (sig) => { try { process.kill(-child.pid, sig); } catch {} };
  // The script's end, or a failure that shows its output when it has not ended in time.
  const end = (ms) => Promise.race([ended, sleep(ms).then(() => { throw new Error(`serve.sh still running after ${ms} ms:\n${out}`); })]);
  return { child, ended, end, output: () => out, signalAll, killAll: () => signalAll('SIGKILL') };
}

test('scripts/serve.sh -p 0 serves the demo chat model on the port it picked, and Ctrl-C stops everything', { skip: !ownBuild && 'XINFER_BIN is not this repository\'s build/bin/xinfer' }, async () => {
  const home = scratchDir('xinfer-quickstart-');
  const s = serveScript(['-p', '0'], home);
  try {
    let ended = null;
    s.ended.then((e) => { ended = e; });
    assert.ok(await waitFor(() => /Try: curl http:\/\/127\.0\.0\.1:\d+\//.test(s.output()) || ended, { timeout: 120000 }), s.output());
    assert.equal(ended, null, `the script ended:\n${s.output()}`);
    const url = s.output().match(/Try: curl (http:\/\/127\.0\.0\.1:\d+)\//)[1];
    assert.notEqual(url, 'http://127.0.0.1:0');
    assert.match(s.output(), new RegExp(`xinfer listening on ${url.replace(/\./g, '\\.')}`));
    assert.match(s.output(), /Model uid: demo-chat/);

    // What the README's curl does, with the OpenAI client.
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed' });
    const r = await client.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 });
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.ok(r.usage.completion_tokens > 0);
    const model = await (await fetch(`${url}/v1/models/demo-chat`)).json();
    const enginePid = model.replicas[0].pid;
    assert.ok(pidAlive(enginePid));

    // Ctrl-C: SIGINT to the terminal's whole process group (the script, tee, sed, the CLI).
    s.signalAll('SIGINT');
    const end = await s.end(60000);
    assert.deepEqual(end, { code: 0, signal: null }, s.output());
    // The service's log still reached the terminal after the line the script read the address from.
    assert.match(s.output().split('Model uid: demo-chat')[1], /xinfer stopped/, s.output());
    assert.ok(await waitFor(() => !pidAlive(enginePid)), 'the demo model\'s engine stopped with the service');
    await assert.rejects(fetch(`${url}/status`), 'the service stopped');
  } finally {
    s.killAll();
    rmSync(home, { recursive: true, force: true });
  }
});

test('scripts/serve.sh on a port already taken ends at once with the reason', { skip: !ownBuild && 'XINFER_BIN is not this repository\'s build/bin/xinfer' }, async () => {
  const taken = createServer();
  await new Promise((r) => taken.listen(0, '127.0.0.1', r));
  const home = scratchDir('xinfer-quickstart-');
  const s = serveScript(['-p', String(taken.address().port)], home);
  try {
    const end = await s.end(60000);
    assert.equal(end.code, 1, s.output());
    assert.match(s.output(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken.address().port}: Address already in use`));
    assert.doesNotMatch(s.output(), /Launch model|demo-chat/, 'no launch is tried without a service');
  } finally {
    s.killAll();
    taken.close();
    rmSync(home, { recursive: true, force: true });
  }
});
