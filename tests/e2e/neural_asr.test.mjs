// Qwen3-ASR through xinfer's model host (llama.cpp's libmtmd: the text model and its audio
// projector), on a tiny random-weight model generated at test time with Qwen3-ASR's layout and
// the real Qwen tokenizer. The words are noise, but everything around them is real: every upload
// format decoded, llama.cpp's mel front end, encoder and decoder, the response formats, pieces of
// long recordings, languages, the prompt, one state per concurrent request, and clear 400s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { startServer, launch, api, QWEN3_ASR_MODEL, repeatWav, scratchDir } from './helpers.mjs';

const run = promisify(execFile);
const scratch = scratchDir('xinfer-asr-');
let server, speech;

async function post(path, bytes, fields = {}, filename = 'speech.wav') {
  const form = new FormData();
  form.append('model', 'asr');
  form.append('file', new Blob([bytes]), filename);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${server.url}${path}`, { method: 'POST', body: form });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: res.status, text, json };
}

// The same recording in another container, made by the ffmpeg program.
async function convert(bytes, ext, args = []) {
  const src = join(scratch, 'in.wav'), dst = join(scratch, `out.${ext}`);
  writeFileSync(src, bytes);
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', src, ...args, dst]);
  return readFileSync(dst);
}

before(async () => {
  server = await startServer();
  await launch(server, { model_name: 'Qwen3-ASR-0.6B', model_type: 'audio', model_uid: 'asr', model_path: QWEN3_ASR_MODEL, concurrency: 2 });
  await launch(server, { model_name: 'flite', model_type: 'audio' });
  const r = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'flite', input: 'Good morning everyone. The meeting will now begin.', response_format: 'wav' }) });
  speech = Buffer.from(await r.arrayBuffer());
});
after(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('Qwen3-ASR launched from a folder runs on llama.cpp\'s audio engine in the model host', async () => {
  const d = (await api(server, 'GET', '/v1/models/asr')).json;
  assert.equal(d.model_type, 'audio');
  assert.equal(d.model_engine, 'mtmd');
  assert.deepEqual(d.model_ability, ['audio2text']);
  const e = await api(server, 'GET', '/v1/engines/Qwen3-ASR-0.6B');
  assert.equal(e.status, 200, e.text);
  assert.deepEqual(e.json.mtmd[0].quantizations, ['Q8_0']);
});

test('every response format, with the segments covering the audio', async () => {
  const v = await post('/v1/audio/transcriptions', speech, { response_format: 'verbose_json' });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.task, 'transcribe');
  assert.ok(Math.abs(v.json.duration - speech.subarray(44).length / 32000) < 0.05, `duration ${v.json.duration}`);
  assert.equal(v.json.segments.length, 1);
  assert.equal(v.json.segments[0].start, 0);
  assert.ok(Math.abs(v.json.segments[0].end - v.json.duration) < 1e-6);
  assert.ok(v.json.text.length > 0, 'the decoder wrote something');
  const json = await post('/v1/audio/transcriptions', speech);
  assert.deepEqual(Object.keys(json.json), ['text']);
  assert.equal(json.json.text, v.json.text, 'greedy decoding: the same words every time');
  const text = await post('/v1/audio/transcriptions', speech, { response_format: 'text' });
  assert.equal(text.text.trim(), v.json.text);
  const srt = await post('/v1/audio/transcriptions', speech, { response_format: 'srt' });
  assert.match(srt.text, /^1\n00:00:00,000 --> 00:00:0\d,\d\d\d\n/);
  const vtt = await post('/v1/audio/transcriptions', speech, { response_format: 'vtt' });
  assert.match(vtt.text, /^WEBVTT\n\n00:00:00\.000 --> 00:00:0\d\.\d\d\d\n/);
});

test('every upload format xinfer decodes reaches the model; lossless copies give the same words', async () => {
  const alone = (await post('/v1/audio/transcriptions', speech)).json.text;
  const flac = await post('/v1/audio/transcriptions', await convert(speech, 'flac'), {}, 'speech.flac');
  assert.equal(flac.status, 200, flac.text);
  assert.equal(flac.json.text, alone);
  for (const [ext, args] of [['mp3', []], ['ogg', ['-c:a', 'libopus']], ['webm', ['-c:a', 'libopus']], ['m4a', ['-c:a', 'aac']]]) {
    const r = await post('/v1/audio/transcriptions', await convert(speech, ext, args), { response_format: 'verbose_json' }, `speech.${ext}`);
    assert.equal(r.status, 200, `${ext}: ${r.text}`);
    assert.ok(Math.abs(r.json.duration - 3.5) < 1.5, `${ext}: duration ${r.json.duration}`);
  }
  const junk = await post('/v1/audio/transcriptions', Buffer.from('this is not audio at all'), {}, 'x.wav');
  assert.equal(junk.status, 400);
  assert.match(junk.json.error.message, /Cannot read the audio file/);
});

test('language is forced the Qwen3-ASR way and reported; a language it lacks and translation are 400s', async () => {
  const free = await post('/v1/audio/transcriptions', speech, { response_format: 'verbose_json' });
  const zh = await post('/v1/audio/transcriptions', speech, { language: 'zh', response_format: 'verbose_json' });
  assert.equal(zh.status, 200, zh.text);
  assert.equal(zh.json.language, 'chinese', 'named as OpenAI and whisper name it');
  assert.notEqual(zh.json.text, free.json.text, 'the language prefix reached the decoder');
  const named = await post('/v1/audio/transcriptions', speech, { language: 'Chinese', response_format: 'verbose_json' });
  assert.equal(named.json.text, zh.json.text, 'a language name and its code are the same request');
  const bad = await post('/v1/audio/transcriptions', speech, { language: 'klingon' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /cannot transcribe language 'klingon'; it knows zh, en, yue/);
  const tr = await post('/v1/audio/translations', speech);
  assert.equal(tr.status, 400);
  assert.match(tr.json.error.message, /does not translate/);
});

test('the prompt reaches the model as its context', async () => {
  const plain = await post('/v1/audio/transcriptions', speech);
  const prompted = await post('/v1/audio/transcriptions', speech, { prompt: 'Names: Xiaoming, Zhang Wei. Topic: quarterly budget.' });
  assert.equal(prompted.status, 200, prompted.text);
  assert.notEqual(prompted.json.text, plain.json.text);
});

test('a recording longer than 30 s is transcribed in pieces that cover it in order', async () => {
  const v = await post('/v1/audio/transcriptions', repeatWav(speech, 70), { response_format: 'verbose_json' });
  assert.equal(v.status, 200, v.text);
  assert.ok(v.json.duration > 69, `duration ${v.json.duration}`);
  const segs = v.json.segments;
  assert.equal(segs.length, 3, JSON.stringify(segs.map((s) => [s.start, s.end])));
  assert.equal(segs[0].start, 0);
  for (let i = 0; i < segs.length; ++i) {
    assert.ok(segs[i].end - segs[i].start <= 30 + 1e-6, `piece ${i} is at most 30 s`);
    if (i > 0) assert.equal(segs[i].start, segs[i - 1].end, 'pieces meet');
    assert.ok(segs[i].text.length > 0, `piece ${i} was decoded`);
  }
  assert.ok(Math.abs(segs.at(-1).end - v.json.duration) < 1e-6);
});

test('concurrent requests each get their own state and the same answer as alone', async () => {
  const alone = await post('/v1/audio/transcriptions', speech, { language: 'en' });
  const together = await Promise.all(Array.from({ length: 4 }, () => post('/v1/audio/transcriptions', speech, { language: 'en' })));
  for (const r of together) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.text, alone.json.text);
  }
});

test('the openai client transcribes with Qwen3-ASR', async () => {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
  const t = await client.audio.transcriptions.create({ model: 'asr', file: await toFile(speech, 'a.wav') });
  assert.equal(typeof t.text, 'string');
  assert.ok(t.text.length > 0);
});

test('a folder without the audio projector, or with only a projector, is a 400 that says what is missing', async () => {
  const dir = mkdtempSync(join(scratch, 'no-mmproj-'));
  copyFileSync(join(QWEN3_ASR_MODEL, 'model.gguf'), join(dir, 'model.gguf'));
  const r = await api(server, 'POST', '/v1/models', { model_name: 'Qwen3-ASR-0.6B', model_type: 'audio', model_uid: 'asr2', model_path: dir });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.detail, /no audio projector \(an mmproj GGUF with an audio encoder\)/);
  const only = mkdtempSync(join(scratch, 'only-mmproj-'));
  copyFileSync(join(QWEN3_ASR_MODEL, 'mmproj-model.gguf'), join(only, 'mmproj-model.gguf'));
  const o = await api(server, 'POST', '/v1/models', { model_name: 'Qwen3-ASR-0.6B', model_type: 'audio', model_uid: 'asr3', model_path: only });
  assert.equal(o.status, 400, o.text);
  assert.match(o.json.detail, /no \.gguf file found/);
  // The running model is untouched.
  assert.equal((await post('/v1/audio/transcriptions', speech)).status, 200);
});
