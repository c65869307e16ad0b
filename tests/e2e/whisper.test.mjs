// whisper.cpp through xinfer, on a tiny random-weight multilingual whisper model generated at
// test time: the transcript is meaningless, but decoding windows, segments and timestamps,
// languages, translation, per-request states under concurrency and errors are all real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { startServer, launch, api, WHISPER_MODEL as WHISPER, repeatWav, scratchDir } from './helpers.mjs';

let server, client, speech;

async function post(path, bytes, fields = {}) {
  const form = new FormData();
  form.append('model', 'whisper-tiny');
  form.append('file', new Blob([bytes]), 'speech.wav');
  for (const [k, v] of Object.entries({ temperature: '0', ...fields })) form.append(k, v);
  const res = await fetch(`${server.url}${path}`, { method: 'POST', body: form });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: res.status, text, json };
}

before(async () => {
  server = await startServer({ env: { HF_ENDPOINT: 'http://hub.invalid', MODELSCOPE_ENDPOINT: 'http://hub.invalid' } });
  await launch(server, { model_name: 'whisper-tiny', model_type: 'audio', model_path: WHISPER, concurrency: 2 });
  await launch(server, { model_name: 'flite', model_type: 'audio' });
  const r = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'flite', input: 'Good morning everyone. The meeting will now begin. First item on the agenda.', response_format: 'wav' }) });
  speech = Buffer.from(await r.arrayBuffer());
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
});
after(async () => server?.stop());

test('whisper model is listed as an audio model on the whisper engine', async () => {
  const d = (await api(server, 'GET', '/v1/models/whisper-tiny')).json;
  assert.equal(d.model_type, 'audio');
  assert.equal(d.model_engine, 'whisper');
  assert.deepEqual(d.model_ability, ['audio2text']);
});

test('verbose_json has segments with timestamps inside the audio, in order', async () => {
  const v = await post('/v1/audio/transcriptions', speech, { response_format: 'verbose_json' });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.task, 'transcribe');
  assert.equal(typeof v.json.language, 'string');
  assert.ok(Math.abs(v.json.duration - speech.subarray(44).length / 32000) < 0.05);
  assert.ok(v.json.segments.length >= 1);
  let last = 0;
  for (const s of v.json.segments) {
    assert.ok(s.start >= last - 1e-9 && s.end >= s.start && s.end <= v.json.duration + 1e-6, JSON.stringify(s));
    last = s.start;
  }
  // The subtitle formats carry the same times as the segments.
  const srtTime = (t) => { const [h, m, rest] = t.split(':'); return Number(h) * 3600 + Number(m) * 60 + Number(rest.replace(',', '.')); };
  const srt = await post('/v1/audio/transcriptions', speech, { response_format: 'srt' });
  const cues = [...srt.text.matchAll(/^(\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n/gm)];
  assert.equal(cues.length, v.json.segments.length, srt.text);
  cues.forEach((c, i) => {
    assert.equal(Number(c[1]), i + 1);
    assert.ok(Math.abs(srtTime(c[2]) - v.json.segments[i].start) < 0.0015 && Math.abs(srtTime(c[3]) - v.json.segments[i].end) < 0.0015,
      `cue ${c[0]} ${c[2]} --> ${c[3]} vs ${JSON.stringify(v.json.segments[i])}`);
  });
  const text = await post('/v1/audio/transcriptions', speech, { response_format: 'text' });
  assert.equal(text.status, 200);
});

test('language and translation options reach whisper; unknown languages are a 400', async () => {
  const zh = await post('/v1/audio/transcriptions', speech, { language: 'zh', response_format: 'verbose_json' });
  assert.equal(zh.status, 200, zh.text);
  assert.equal(zh.json.language, 'chinese');
  const tr = await post('/v1/audio/translations', speech, { response_format: 'verbose_json' });
  assert.equal(tr.status, 200, tr.text);
  assert.equal(tr.json.task, 'translate');
  // The test model's decoder follows its prompt, so the task token whisper was given shows in
  // the words it writes: a translation of the same audio reads differently from a transcript.
  const same = await post('/v1/audio/transcriptions', speech, { response_format: 'verbose_json' });
  assert.equal(same.json.language, tr.json.language, 'both detected the same language');
  assert.notEqual(tr.json.text, same.json.text, 'the translate task reached the decoder');
  const bad = await post('/v1/audio/transcriptions', speech, { language: 'klingon' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /unknown language/);
});

test('concurrent requests each get their own state and the same answer as alone', async () => {
  const alone = await post('/v1/audio/transcriptions', speech, { language: 'en' });
  const together = await Promise.all(Array.from({ length: 4 }, () => post('/v1/audio/transcriptions', speech, { language: 'en' })));
  for (const r of together) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.text, alone.json.text);
  }
});

test('audio longer than one 30-second window is decoded to its end', async () => {
  const v = await post('/v1/audio/transcriptions', repeatWav(speech, 65), { response_format: 'verbose_json', language: 'en' });
  assert.equal(v.status, 200, v.text);
  assert.ok(v.json.duration > 60);
  // Each 30-second window is decoded where it lies: whisper's first timestamp in a window is
  // at most one second in (its max_initial_ts), so a segment starts in the first second of each.
  for (const w of [0, 30, 60])
    assert.ok(v.json.segments.some((s) => s.start >= w && s.start <= w + 1.01), `a segment starts at ${w}-${w + 1} s: ${JSON.stringify(v.json.segments)}`);
  assert.ok(v.json.segments.every((s, i) => i === 0 || s.start >= v.json.segments[i - 1].start), 'segments in order');
  assert.ok(v.json.segments.at(-1).end <= v.json.duration + 1e-6);
});

test('the openai client transcribes with whisper', async () => {
  const t = await client.audio.transcriptions.create({ model: 'whisper-tiny', file: await toFile(speech, 'a.wav'), temperature: 0 });
  assert.equal(typeof t.text, 'string');
});

test('a file that is not a whisper model fails to launch with the reason', async () => {
  const dir = scratchDir('xinfer-bad-whisper-');
  writeFileSync(join(dir, 'ggml-fake.bin'), 'not a model');
  const r = await api(server, 'POST', '/v1/models', { model_name: 'whisper-base', model_type: 'audio', model_path: join(dir, 'ggml-fake.bin') });
  assert.equal(r.status, 500, r.text);
  assert.match(r.json.detail, /cannot load the model file/);
  // Not in the cache, and no hub reachable (this server's hubs are names that never resolve).
  const missing = await api(server, 'POST', '/v1/models', { model_name: 'whisper-small', model_type: 'audio' });
  assert.equal(missing.status, 503);
  assert.match(missing.json.detail, /files are not in the cache .*pass model_path/);
});
