// scripts/gpu-check.py, the check users run on a GPU machine, run here where there is none: a
// stand-in nvidia-smi reports one GPU, so xinfer places every model on "GPU 0" and the script
// walks its whole path. Everything that does not need a real GPU must pass (launches, chat,
// vectors and scores against the CPU replicas, transcription, clean termination), and the checks
// that do need one must fail: the script cannot pass on a machine whose engines are not on a GPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, MODELS, scratchDir } from './helpers.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('gpu-check.py: without a real GPU it fails exactly the GPU checks and passes the rest', () => {
  const fake = scratchDir('xinfer-fake-smi-');
  writeFileSync(join(fake, 'nvidia-smi'), `#!/bin/sh
case "$*" in
  -L) echo "GPU 0: Stand-in GPU (UUID: GPU-test)";;
  *query-gpu*) echo "0, Stand-in GPU, 81920, 0";;
  *) ;;
esac
`);
  chmodSync(join(fake, 'nvidia-smi'), 0o755);
  const r = spawnSync('python3', [join(repo, 'scripts', 'gpu-check.py'), '--bin', dirname(BIN), '--models', MODELS], {
    // TMPDIR: the service home it keeps to be read (checks fail here) lands in this test's scratch.
    env: { ...process.env, PATH: `${fake}:${process.env.PATH}`, TMPDIR: fake }, encoding: 'utf8', timeout: 300000,
  });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 1, out);
  const passed = (name) => assert.match(out, new RegExp(`^PASS ${name}`, 'm'), out);
  const failed = (name) => assert.match(out, new RegExp(`^FAIL ${name}`, 'm'), out);
  passed('xinfer sees the GPUs');
  for (const uid of ['gpu-chat', 'cpu-chat', 'gpu-embed', 'cpu-embed', 'gpu-rerank', 'cpu-rerank', 'gpu-stt']) passed(`launch ${uid}`);
  for (const uid of ['gpu-chat', 'gpu-embed', 'gpu-rerank', 'gpu-stt']) {
    passed(`${uid}: engine sees one GPU`);
    failed(`${uid}: nvidia-smi lists engine pid`);
  }
  passed('gpu-chat: chat completion');
  passed('gpu-chat: streamed');
  passed('embeddings: GPU vectors match the CPU');
  passed('rerank: GPU scores match the CPU');
  passed('gpu-stt: transcription');
  passed('terminated engines gave the GPU back');
  assert.match(out, /gpu-check: \d+ failed/);
});
