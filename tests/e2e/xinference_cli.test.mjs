// Xinference's CLI habits with xinfer's binary run as `xinference`: every subcommand with the
// short flags its scripts use, output a script can grep, and the interactive ones (chat,
// generate, the progress bar) through a real terminal (util-linux `script` gives them a pty).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { startServer, api, cli, waitFor, sleep, BIN, CHAT_MODEL, EMBED_MODEL, scratchDir } from './helpers.mjs';

const XINFERENCE = join(dirname(BIN), 'xinference');
let server;
before(async () => { server = await startServer(); });
after(async () => server?.stop());

const x = (args, opts = {}) => cli(server, args, { bin: XINFERENCE, ...opts });

// Runs a command in a pseudo-terminal, feeding `inputs` one by one, each once `waitFor` matched.
function inTerminal(args, steps, { timeout = 60000 } = {}) {
  const command = [XINFERENCE, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, XINFERENCE_ENDPOINT: server.url, TERM: 'xterm' } });
    let out = '';
    let step = 0;
    const advance = () => {
      while (step < steps.length && steps[step].after.test(out.slice(steps[step].from ?? 0))) {
        p.stdin.write(steps[step].send);
        step++;
        if (step < steps.length) steps[step].from = out.length;
      }
    };
    p.stdout.on('data', (d) => { out += d; advance(); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`timed out; output:\n${out}`)); }, timeout);
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

test('launch with Xinference\'s short flags: plain progress lines off a terminal, the uid, the kwargs line', async () => {
  const r = x(['launch', '-n', 'qwen2.5-instruct', '-t', 'LLM', '-en', 'llama.cpp', '-f', 'ggufv2', '-u', 'cli-chat', '-r', '1',
    '-mp', CHAT_MODEL, '--n-gpu', 'none', '--env', 'XINFER_TEST_FLAG', 'on', '--enable-thinking', '--trust-remote-code', 'true',
    '--n_ctx', '1024']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Model uid: cli-chat$/m);
  const err = r.stderr ?? '';
  // (cli() keeps stderr only on failure: run again capturing both to check the progress lines.)
  const d = (await api(server, 'GET', '/v1/models/cli-chat')).json;
  assert.equal(d.launch_params.n_ctx, 1024);
  assert.equal(d.n_gpu, null);
  assert.ok(d.replicas[0].command.join(' ').includes('--reasoning on'), '--enable-thinking reached the template switch');
  const environ = readFileSync(`/proc/${d.replicas[0].pid}/environ`, 'utf8').split('\0');
  assert.ok(environ.includes('XINFER_TEST_FLAG=on'), '--env KEY VALUE reached the engine');
  assert.equal(err, '');

  const both = execFileSync('sh', ['-c', `'${XINFERENCE}' launch -n qwen2.5-instruct -en llama.cpp -u cli-plain -mp '${CHAT_MODEL}' --n_ctx 512 2>&1`],
    { env: { ...process.env, XINFERENCE_ENDPOINT: server.url }, encoding: 'utf8' });
  assert.match(both, /^Launch model name: qwen2\.5-instruct with kwargs: \{'n_ctx': 512\}$/m);
  assert.match(both, /^Launching model: 100\.0%$/m, 'a plain line, no redrawn bar');
  assert.doesNotMatch(both, /\r/);
  assert.match(both, /^Model uid: cli-plain$/m);
  x(['terminate', '--model-uid', 'cli-plain']);

  // A relative --model-path is the caller's folder, not the service's.
  execFileSync(XINFERENCE, ['launch', '-n', 'rel', '-mp', 'tiny-chat.gguf', '--n_ctx', '512'],
    { cwd: dirname(CHAT_MODEL), env: { ...process.env, XINFERENCE_ENDPOINT: server.url }, stdio: 'ignore' });
  assert.equal((await api(server, 'GET', '/v1/models/rel')).json.model_path, CHAT_MODEL);
  x(['terminate', '--model-uid', 'rel']);
});

test('launch in a terminal draws the bar in place', async () => {
  const r = await inTerminal(['launch', '-n', 'qwen2.5-instruct', '-en', 'llama.cpp', '-u', 'cli-tty', '-mp', CHAT_MODEL], []);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /\rLaunching model: 100%\|██████████\| 100\.0%/);
  assert.match(r.out, /Model uid: cli-tty/);
  x(['terminate', '--model-uid', 'cli-tty']);
});

test('list prints per-type tables that `list | grep -q NAME` finds', async () => {
  const e = x(['launch', '--model-name', 'bge-small-en-v1.5', '--model-type', 'embedding', '--model-path', EMBED_MODEL]);
  assert.equal(e.code, 0, e.stderr);
  const list = x(['list']);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /^UID\s+Type\s+Name\s+Format\s+Size \(in billions\)\s+Quantization/m);
  assert.match(list.stdout, /^cli-chat\s+LLM\s+qwen2\.5-instruct\s+ggufv2\s+0_\d+\s+F16/m);
  assert.match(list.stdout, /^UID\s+Type\s+Name\s+Dimensions/m);
  assert.match(list.stdout, /^bge-small-en-v1\.5\s+embedding\s+bge-small-en-v1\.5\s+64/m);
  execFileSync('sh', ['-c', `'${XINFERENCE}' list | grep -q bge-small-en-v1.5`], { env: { ...process.env, XINFERENCE_ENDPOINT: server.url } });
  x(['terminate', '--model-uid', 'bge-small-en-v1.5']);
});

test('chat and generate talk through a terminal, streaming, until an empty line', async () => {
  const chat = await inTerminal(['chat', '--model-uid', 'cli-chat', '--max_tokens', '6'], [
    { after: /User: $/, send: 'hello\n' },
    { after: /Assistant: .+\r?\nUser: $/s, send: 'and again\n' },
    { after: /Assistant: .+\r?\nUser: $/s, send: '\n' },
  ]);
  assert.equal(chat.code, 0, chat.out);
  assert.equal((chat.out.match(/Assistant: /g) ?? []).length, 2, chat.out);
  const gen = await inTerminal(['generate', '--model-uid', 'cli-chat', '--max_tokens', '4'], [
    { after: /Prompt: $/, send: 'once upon\n' },
    { after: /Completion: once upon.*\r?\nPrompt: $/s, send: '\n' },
  ]);
  assert.equal(gen.code, 0, gen.out);
  const notChat = x(['chat', '--model-uid', 'nothing']);
  assert.notEqual(notChat.code, 0);
  assert.match(notChat.stderr, /Model not found/);
});

test('register -p, registrations per type, engine, unregister', async () => {
  const dir = scratchDir('xinfer-cli-');
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify({ version: 2, model_name: 'cli-reg', context_length: 2048, model_lang: ['en'],
    model_ability: ['chat'], model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 1, quantizations: ['F16'],
      model_uri: `file://${CHAT_MODEL}` }] }));
  assert.equal(x(['register', '-t', 'LLM', '-f', file, '-p']).code, 0);
  assert.match(x(['registrations', '-t', 'LLM']).stdout, /^LLM\s+cli-reg\s+en\s+chat\s+False/m);
  const emb = x(['registrations', '-t', 'embedding']).stdout;
  assert.match(emb, /^Type\s+Name\s+Language\s+Dimensions\s+Is-built-in/m);
  assert.match(emb, /^embedding\s+bge-m3\s+\S.*1024\s+True/m);
  assert.match(x(['registrations', '-t', 'audio']).stdout, /^audio\s+whisper-tiny\s+whisper\s+True\s+True/m);
  const eng = x(['engine', '-n', 'qwen2.5-instruct', '-en', 'llama.cpp', '-s', '0_5', '-q', 'q4_k_m']);
  assert.equal(eng.code, 0, eng.stderr);
  assert.match(eng.stdout, /^Name\s+Engine\s+Format\s+Size \(in billions\)\s+Quantization/m);
  assert.match(eng.stdout, /^qwen2\.5-instruct\s+llama\.cpp\s+ggufv2\s+0_5\s+q4_k_m$/m);
  assert.equal(eng.stdout.trim().split('\n').length, 3, 'only the asked combination');
  assert.equal(x(['unregister', '-t', 'LLM', '-n', 'cli-reg']).code, 0);
  assert.doesNotMatch(x(['registrations', '-t', 'LLM']).stdout, /cli-reg/);
});

test('cached and remove-cache, with and without --check', async () => {
  const dir = join(server.home, 'cache', 'bge-base-en-v1.5');
  mkdirSync(dir, { recursive: true });
  copyFileSync(EMBED_MODEL, join(dir, 'bge-base-en-v1.5-f16.gguf'));
  const c = x(['cached']);
  assert.equal(c.code, 0);
  assert.match(c.stdout, /bge-base-en-v1\.5--bge-base-en-v1\.5-f16\.gguf/);
  // Without --check it asks; "n" keeps the files.
  const keep = execFileSync('sh', ['-c', `echo n | '${XINFERENCE}' remove-cache -n bge-base-en-v1.5--bge-base-en-v1.5-f16.gguf || true`],
    { env: { ...process.env, XINFERENCE_ENDPOINT: server.url }, encoding: 'utf8' });
  assert.match(keep, /cache directory to be deleted:\n.*bge-base-en-v1\.5-f16\.gguf/);
  assert.match(x(['cached', '-n', 'bge-base-en-v1.5']).stdout, /bge-base-en-v1\.5-f16/);
  const r = x(['remove-cache', '-n', 'bge-base-en-v1.5--bge-base-en-v1.5-f16.gguf', '--check']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /has been deleted/);
  assert.match(x(['cached']).stdout, /There are no cache files\./);
  assert.match(x(['remove-cache', '-n', 'gone', '--check']).stderr, /No cached model version named 'gone'/);
});

test('vllm-models, login, cal-model-mem, -e and -ak', async () => {
  assert.match(x(['vllm-models']).stdout, /VLLM supported chat model families: \[\]/);
  const login = x(['login', '--username', 'a', '--password', 'b', '-e', server.url], { env: { XINFERENCE_ENDPOINT: '' } });
  assert.equal(login.code, 0);
  const mem = x(['cal-model-mem', '-s', '7', '-f', 'ggufv2', '-q', 'Q4_K_M', '-c', '4096']);
  assert.equal(mem.code, 0, mem.stderr);
  assert.match(mem.stdout, /^model size: 7\.0 B$/m);
  const field = (name) => Number(mem.stdout.match(new RegExp(`^  ${name}: (\\d+) MB`, 'm'))[1]);
  // 7 B at 4.85 bits a weight is about 4 GiB; a 4096 context of a 32-layer, 8-KV-head model 512 MiB.
  assert.ok(field('model mem') > 3800 && field('model mem') < 4300, mem.stdout);
  assert.equal(field('kv_cache'), 512);
  assert.equal(field('total'), field('model mem') + field('kv_cache') + field('overhead') + field('active'));
  assert.equal(x(['list', '-ak', 'sk-anything']).code, 0, '-ak is accepted');
});

test('stop-cluster asks first, and with --check stops the service', async () => {
  const other = await startServer();
  try {
    const env = { XINFERENCE_ENDPOINT: other.url };
    const no = execFileSync('sh', ['-c', `echo n | '${XINFERENCE}' stop-cluster -e ${other.url} || true`], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.match(no, /Supervisor information:/);
    assert.equal((await api(other, 'GET', '/status')).status, 200, 'still running after "n"');
    const r = cli(other, ['stop-cluster', '-e', other.url, '--check'], { bin: XINFERENCE });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Cluster stopped: True/);
    const exit = await Promise.race([other.exited, sleep(20000).then(() => null)]);
    assert.equal(exit?.code, 0);
  } finally {
    await other.stop();
  }
});
