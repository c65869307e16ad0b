// Offline bundles: `xinfer bundle create` on this machine, `bundle install` into a fresh folder
// after the home that held the models is gone, then the bundle's own scripts start the service
// in a network namespace with no route out (when this machine lets us make one) and it serves
// the deployment it carries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, copyFileSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, CHAT_MODEL, scratchDir } from './helpers.mjs';

const run = promisify(execFile);
const work = scratchDir('xinfer-bundle-');
const tar = join(work, 'offline.tar');
let installed;

// Can this machine give a process its own network namespace? (root, or user namespaces)
function netnsAvailable() {
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  // A home whose cache holds a catalog model under the file name the catalog gives it.
  const home = join(work, 'build-home');
  mkdirSync(join(home, 'cache', 'qwen2.5-instruct'), { recursive: true });
  copyFileSync(CHAT_MODEL, join(home, 'cache', 'qwen2.5-instruct', 'qwen2.5-0.5b-instruct-q4_k_m.gguf'));
  const deploy = join(work, 'deploy.json');
  writeFileSync(deploy, JSON.stringify({ models: [{ model_uid: 'chat', model_name: 'qwen2.5-instruct', model_type: 'LLM',
    model_size_in_billions: '0_5', quantization: 'q4_k_m', enable: true }] }));
  const out = await run(BIN, ['bundle', 'create', tar, '-m', 'qwen2.5-instruct', '--config', deploy], { env: { ...process.env, XINFER_HOME: home } });
  assert.match(out.stdout, /offline\.tar: \d+ files \(\d+ libraries\)/);
  rmSync(home, { recursive: true, force: true });  // the target has never seen the models
});
after(() => rmSync(work, { recursive: true, force: true }));

test('bundle install unpacks and verifies every file; a damaged file is named', async () => {
  const out = await run(BIN, ['bundle', 'install', tar, join(work, 'target'), '--no-start']);
  assert.match(out.stdout, /installed and verified/);
  installed = join(work, 'target', 'xinfer-bundle');
  for (const f of ['bin/xinfer', 'bin/xinfer-host', 'bin/xinfer-encoder', 'bin/llama-server', 'run.sh', 'install.sh', 'deploy.json', 'MANIFEST.sha256',
    'home/cache/qwen2.5-instruct/qwen2.5-0.5b-instruct-q4_k_m.gguf']) assert.ok(existsSync(join(installed, f)), f);
  // Every library the programs load, beyond glibc, resolves inside the bundle: libcurl too, which
  // xinfer opens only when a download starts (from a mirror on the offline network).
  assert.ok(existsSync(join(installed, 'lib', 'libcurl.so.4')), 'libcurl.so.4 is bundled');
  for (const program of ['bin/xinfer', 'bin/xinfer-host', 'bin/xinfer-encoder', 'bin/llama-server', 'lib/libcurl.so.4']) {
    const ldd = execFileSync('ldd', [join(installed, program)], { env: { ...process.env, LD_LIBRARY_PATH: join(installed, 'lib') }, encoding: 'utf8' });
    for (const line of ldd.split('\n')) {
      const m = /^\s*(\S+) => (\S+)/.exec(line);
      if (!m || /^(libc|libm|libpthread|libdl|librt|libresolv|libutil)\.so/.test(m[1])) continue;
      assert.ok(m[2].startsWith(join(installed, 'lib')), `${program}: ${m[1]} resolves to ${m[2]}`);
    }
  }
  // A bundle with one byte changed after it was made.
  const damaged = join(work, 'damaged');
  mkdirSync(damaged);
  execFileSync('tar', ['-xf', tar, '-C', damaged]);
  const model = join(damaged, 'xinfer-bundle', 'home', 'cache', 'qwen2.5-instruct', 'qwen2.5-0.5b-instruct-q4_k_m.gguf');
  const bytes = readFileSync(model);
  bytes[bytes.length >> 1] ^= 1;
  writeFileSync(model, bytes);
  execFileSync('tar', ['-cf', join(work, 'damaged.tar'), '-C', damaged, 'xinfer-bundle']);
  const bad = await run(BIN, ['bundle', 'install', join(work, 'damaged.tar'), join(work, 'target2'), '--no-start']).catch((e) => e);
  assert.notEqual(bad.code ?? 0, 0);
  assert.match(bad.stderr, /home\/cache\/qwen2\.5-instruct\/qwen2\.5-0\.5b-instruct-q4_k_m\.gguf differs from the bundle's manifest/);
});

test('the bundle\'s install.sh starts its deployment with no network and serves chat', async (t) => {
  assert.ok(installed, 'installed by the previous test');
  // Inside the namespace: loopback up, the bundle's install.sh (sha256sum check, then serve on a
  // port the kernel picks), then one chat request; the script prints the answer.
  const script = join(work, 'inside.sh');
  writeFileSync(script, `#!/bin/sh
set -e
ip link set lo up 2>/dev/null || true
if ip route get 1.1.1.1 >/dev/null 2>&1; then echo "ROUTE-OUT"; fi
log=${work}/serve.log
${installed}/install.sh -H 127.0.0.1 -p 0 > $log 2>&1 &
pid=$!
for i in $(seq 1 200); do
  port=$(sed -n 's/.*xinfer listening on http:\\/\\/127.0.0.1:\\([0-9]*\\).*/\\1/p' $log | head -1)
  if [ -n "$port" ] && curl -sf http://127.0.0.1:$port/v1/models/chat 2>/dev/null | grep -q '"status":"ready"'; then break; fi
  sleep 0.1
done
curl -sf http://127.0.0.1:$port/v1/chat/completions -H 'Content-Type: application/json' \\
  -d '{"model":"chat","messages":[{"role":"user","content":"hi"}],"max_tokens":4}' || { cat $log; kill $pid; exit 1; }
kill $pid
wait $pid || true
`);
  const isolated = netnsAvailable();
  if (!isolated) t.diagnostic('no network namespace here (unshare -n refused): run without isolation');
  const out = await run(isolated ? 'unshare' : 'sh', isolated ? ['-n', 'sh', script] : [script],
    { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 60000 });
  if (isolated) assert.ok(!out.stdout.includes('ROUTE-OUT'), 'no route out of the namespace');
  const answer = JSON.parse(out.stdout.slice(out.stdout.indexOf('{')));
  assert.equal(answer.object, 'chat.completion');
  assert.equal(answer.model, 'qwen2.5-instruct');
  assert.equal(answer.choices.length, 1);
});
