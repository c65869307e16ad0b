// The web UI in a real browser (Debian's Chromium, headless, driven by playwright-core) against
// the real binary and real engines: launch from the catalog page, chat with streamed text,
// embeddings and rerank panels, a transcript of an uploaded WAV, speech that plays, terminate,
// Chinese; no console errors and no request leaving 127.0.0.1. Screenshots of every page go to
// build/test-artifacts/ui/ (look at them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, launch, api, BIN, CHAT_MODEL, EMBED_MODEL, RERANK_MODEL, WHISPER_MODEL } from './helpers.mjs';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(dirname(BIN), '..', 'test-artifacts', 'ui');
let server, browser, page;
const consoleErrors = [];
const foreignRequests = [];

async function shot(name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
async function open(hash) {
  await page.goto(`${server.url}/ui/${hash}`);
  await page.waitForLoadState('networkidle');
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  // A registration as a user makes one: it appears under "Custom" and launches from there.
  const spec = { version: 2, model_name: 'ui-chat', context_length: 2048, model_lang: ['en'], model_ability: ['chat'],
    model_description: 'A tiny chat model registered for the UI test.',
    model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 0, quantization: 'f16', model_uri: `file://${CHAT_MODEL}` }] };
  const r = await api(server, 'POST', '/v1/model_registrations/LLM', { model: JSON.stringify(spec), persist: false });
  assert.equal(r.status, 200, r.text);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (req) => {
    const url = new URL(req.url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '127.0.0.1') foreignRequests.push(req.url());
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('/ leads to the catalog; a model launches from its card with a live progress bar', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  await page.goto(`${server.url}/`);
  await page.waitForURL(/\/ui\/#\/launch_model\/llm$/);
  await page.locator('.card[data-model="qwen2.5-instruct"]').waitFor();
  await shot('launch-llm');
  await page.fill('input[type=search]', 'qwen3');
  assert.equal(await page.locator('.card[data-model="qwen2.5-instruct"]').count(), 0, 'search filters the cards');

  await open('#/launch_model/custom');
  await page.click('.card[data-model="ui-chat"]');
  await page.locator('[role=dialog]').waitFor();
  await page.click('[role=dialog] button:has-text("Copy as CLI")');
  assert.match(await page.inputValue('[role=dialog] textarea.copy'), /^xinference launch --model-name ui-chat --model-type LLM/);
  await page.locator('[role=dialog] .gpu-field:has-text("No GPUs on this machine")').waitFor();
  await shot('launch-dialog');
  await page.click('[role=dialog] button.primary');
  await page.locator('[role=dialog] .progress:has-text("Ready")').waitFor({ timeout: 60000 });
  await shot('launch-ready');
  assert.equal((await api(server, 'GET', '/v1/models/ui-chat')).json.status, 'ready');
});

test('the launch dialog lists the machine\'s GPUs to pick from; the picks reach the CLI and curl lines', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  const gpuServer = await startServer({ env: { XINFER_SIMULATED_GPUS: '0:Sim A100:81920,1:Sim L4:23034' } });
  const p = await browser.newPage({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  try {
    await p.goto(`${gpuServer.url}/ui/#/launch_model/llm`);
    await p.click('.card[data-model="qwen2.5-instruct"]');
    await p.locator('[role=dialog] input[data-gpu="1"]').waitFor();
    assert.match(await p.locator('[role=dialog] .gpu-list').innerText(), /0 · Sim A100 · 80\.0\/80\.0 GiB free\s+1 · Sim L4 · 22\.5\/22\.5 GiB free/);
    const counts = await p.locator('[role=dialog] label:has-text("GPUs") option').allInnerTexts();
    assert.deepEqual(counts, ['CPU only', 'Auto', '1', '2'], 'the count goes up to the GPUs there are');
    await p.check('[role=dialog] input[data-gpu="1"]');
    await p.click('[role=dialog] button:has-text("Copy as CLI")');
    assert.match(await p.inputValue('[role=dialog] textarea.copy'), / --gpu-idx 1$/);
    await p.click('[role=dialog] button:has-text("Copy as curl")');
    assert.match(await p.inputValue('[role=dialog] textarea.copy'), /"gpu_idx":\[1\]/);
    await p.screenshot({ path: join(SHOTS, 'launch-dialog-gpus.png'), fullPage: true });
  } finally {
    await p.close();
    await gpuServer.stop();
  }
});

test('running models: chat streams its answer, with token counts and speed', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  await open('#/running_models/LLM');
  const row = page.locator('tr[data-uid="ui-chat"]');
  await row.locator('.state.ready').waitFor();
  await row.locator('button:has-text("Try it")').click();
  // Count how often the answer's text changes while it arrives: streamed text changes many times.
  await page.evaluate(() => {
    window.__updates = 0;
    new MutationObserver(() => { window.__updates++; }).observe(document.querySelector('.messages'), { subtree: true, characterData: true, childList: true });
  });
  await page.fill('.composer textarea', 'Tell me a story');
  await page.fill('.chat input[type=number][step="0.1"]', '0');
  await page.click('.composer button.primary');
  await page.locator('.stats').waitFor({ timeout: 60000 });
  const answer = await page.locator('.message.assistant').innerText();
  assert.ok(answer.length > 0, 'an answer');
  assert.ok(await page.evaluate(() => window.__updates) > 3, 'the answer arrived in pieces');
  assert.match(await page.locator('.stats').innerText(), /\d+ tokens, [\d.]+ tokens\/s/);
  await shot('running-chat');
});

test('running models: events, engine logs, and scaling replicas up and down', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  await open('#/running_models/LLM');
  const row = page.locator('tr[data-uid="ui-chat"]');
  await row.locator('button:has-text("Events")').click();
  await page.locator('pre.events:has-text("launch")').waitFor();
  await row.locator('button:has-text("Logs")').click();
  await page.locator('pre.logs:has-text("llama")').waitFor();  // llama-server's own log lines
  await row.locator('button[aria-label="more replicas"]').click();
  await row.locator('td.replicas span:has-text("2")').waitFor();
  assert.equal((await api(server, 'GET', '/v1/models/ui-chat')).json.replica, 2);
  await shot('running-scaled');
  await row.locator('button[aria-label="fewer replicas"]').click();
  await row.locator('td.replicas span:has-text("1")').waitFor();
  await open('#/monitor');
  // A sample every two seconds: the lines grow (an idle model's line is flat at zero).
  await page.waitForFunction(() => (document.querySelector('.monitor[data-model="ui-chat"] svg path')?.getAttribute('d') ?? '').split('L').length >= 3);
  const captions = (await page.locator('.monitor[data-model="ui-chat"] figcaption').allInnerTexts()).join('\n');
  for (const label of [/Requests\/s: [\d.]+/, /Tokens\/s: [\d.]+/, /Time to first token \(ms\): \d+/, /In flight: 0/, /Queued: 0/])
    assert.match(captions, label);
  await shot('monitor');
});

test('embeddings and rerank panels show a similarity matrix and ranked documents', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  await launch(server, { model_uid: 'ui-embed', model_name: 'bge-small-en-v1.5', model_type: 'embedding', model_path: EMBED_MODEL });
  await launch(server, { model_uid: 'ui-rerank', model_name: 'bge-reranker-base', model_type: 'rerank', model_path: RERANK_MODEL });
  await open('#/running_models/embedding');
  await page.locator('tr[data-uid="ui-embed"] button:has-text("Try it")').click();
  await page.click('.panel button.primary');
  await page.locator('table.matrix').waitFor();
  const cells = await page.locator('table.matrix td').allInnerTexts();
  assert.equal(cells.length, 9);
  assert.deepEqual([cells[0], cells[4], cells[8]], ['1.000', '1.000', '1.000'], 'each text is most similar to itself');
  await shot('running-embedding');
  await open('#/running_models/rerank');
  await page.locator('tr[data-uid="ui-rerank"] button:has-text("Try it")').click();
  await page.click('.panel button.primary');
  await page.locator('ol.ranked li').first().waitFor();
  assert.equal(await page.locator('ol.ranked li').count(), 3);
  await shot('running-rerank');
});

test('speech: an uploaded WAV gets a transcript, and text becomes playable audio', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  await launch(server, { model_uid: 'ui-whisper', model_name: 'whisper-tiny', model_type: 'audio', model_path: WHISPER_MODEL });
  await launch(server, { model_uid: 'ui-flite', model_name: 'flite', model_type: 'audio' });
  const speech = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'ui-flite', input: 'Good morning everyone. The meeting will now begin.', response_format: 'wav' }) });
  const wav = join(SHOTS, 'speech.wav');
  writeFileSync(wav, Buffer.from(await speech.arrayBuffer()));
  await open('#/running_models/audio');
  await page.locator('tr[data-uid="ui-whisper"] button:has-text("Try it")').click();
  await page.setInputFiles('.panel input[type=file]', wav);
  await page.locator('.transcript li').first().waitFor({ timeout: 60000 });
  assert.match(await page.locator('.transcript li').first().innerText(), /0:0\d\.\d–/);
  await shot('running-stt');
  await page.locator('tr[data-uid="ui-flite"] button:has-text("Try it")').click();
  await page.click('.panel button.primary');
  const audio = page.locator('.panel audio');
  await audio.waitFor();
  const duration = await audio.evaluate((a) => new Promise((resolve) => {
    if (a.readyState >= 1) resolve(a.duration);
    a.addEventListener('loadedmetadata', () => resolve(a.duration));
  }));
  assert.ok(duration > 0.5, `the browser can play it (${duration} s)`);
  await shot('running-tts');
});

test('terminate from the table; Chinese and dark mode; no console errors, nothing fetched from outside', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  await open('#/running_models/LLM');
  page.once('dialog', (d) => d.accept());
  await page.locator('tr[data-uid="ui-chat"] button:has-text("Terminate")').click();
  await page.locator('tr[data-uid="ui-chat"]').waitFor({ state: 'detached' });
  assert.equal((await api(server, 'GET', '/v1/models/ui-chat')).status, 404);
  await page.selectOption('select[aria-label=language]', 'zh');
  await page.locator('nav a:has-text("启动模型")').waitFor();
  await page.click('header button.ghost');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await open('#/cluster_info');
  await page.locator('dl.facts').waitFor();
  await shot('cluster-zh-dark');
  await open('#/register_model');
  await shot('register-zh-dark');
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(foreignRequests, []);
});
