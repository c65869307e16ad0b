// Qwen3-TTS (and Pocket TTS, at the end) through xinfer's model host (llama.cpp's audio generation, libmtmd), on a tiny
// random-weight model generated at test time with Qwen3-TTS's layout and the real Qwen tokenizer.
// The sound is noise, and the test model never ends speech early (its end-of-speech logit is
// zero), so every duration is xinfer's bound for the text: 80 ms frames, 12.5 x (2 + 0.3 x
// characters). Checked: the audio containers and sample rate, durations growing with the text,
// speed, languages, voice cloning from an upload (Xinference's multipart form) and from the
// voice registry (kept across restarts), streaming sentence by sentence, concurrency, and 400s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, api, waitFor, QWEN3_TTS_MODEL, POCKET_TTS_MODEL } from './helpers.mjs';

let server, voice;
const frames = (text) => Math.floor(12.5 * (2 + 0.3 * [...text].length));
const seconds = (text) => frames(text) * 0.08;
const SHORT = 'Hello.';
const LONG = 'The quarterly meeting starts at ten in the morning; please bring the budget report.';

async function speak(body, { json = true } = {}) {
  let res;
  if (json) {
    res = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'tts', response_format: 'wav', ...body }) });
  } else {
    const form = new FormData();
    for (const [k, v] of Object.entries(body)) {
      if (v instanceof Blob) form.append(k, v, 'prompt_speech');
      else form.append(k, String(v));
    }
    res = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', body: form });
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  let err = null;
  if (res.status !== 200) try { err = JSON.parse(bytes.toString()); } catch {}
  return { status: res.status, type: res.headers.get('content-type'), bytes, err };
}

// A RIFF/WAVE header's facts and the duration of its data.
function wav(bytes) {
  assert.equal(bytes.subarray(0, 4).toString(), 'RIFF');
  assert.equal(bytes.subarray(8, 12).toString(), 'WAVE');
  const channels = bytes.readUInt16LE(22), rate = bytes.readUInt32LE(24), bits = bytes.readUInt16LE(34);
  const data = bytes.readUInt32LE(40);
  return { channels, rate, bits, seconds: data / (rate * channels * bits / 8) };
}

before(async () => {
  server = await startServer();
  await launch(server, { model_name: 'Qwen3-TTS-12Hz-0.6B-Base', model_type: 'audio', model_uid: 'tts', model_path: QWEN3_TTS_MODEL,
    concurrency: 2 });
  await launch(server, { model_name: 'flite', model_type: 'audio' });
  const r = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'flite', input: 'This is my voice, recorded for cloning.', response_format: 'wav' }) });
  voice = Buffer.from(await r.arrayBuffer());
});
after(async () => server?.stop());

test('Qwen3-TTS launched from a folder runs on llama.cpp\'s audio generation and says it clones voices', async () => {
  const d = (await api(server, 'GET', '/v1/models/tts')).json;
  assert.equal(d.model_type, 'audio');
  assert.equal(d.model_engine, 'mtmd-tts');
  assert.deepEqual(d.model_ability, ['text2audio', 'text2audio_voice_cloning']);
  // By name without its files: a 400 that says what to give.
  const r = await api(server, 'POST', '/v1/models', { model_name: 'Qwen3-TTS-12Hz-0.6B-CustomVoice', model_type: 'audio', model_uid: 'tts2' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.detail, /pass model_path, a folder holding both/);
});

test('24 kHz mono speech whose length grows with the text, in every format', async () => {
  const short = await speak({ input: SHORT });
  assert.equal(short.status, 200, short.err?.detail);
  assert.equal(short.type, 'audio/wav');
  const s = wav(short.bytes);
  assert.deepEqual([s.channels, s.rate, s.bits], [1, 24000, 16]);
  assert.ok(Math.abs(s.seconds - seconds(SHORT)) < 0.01, `${s.seconds} s for "${SHORT}"`);
  const long = wav((await speak({ input: LONG })).bytes);
  assert.ok(Math.abs(long.seconds - seconds(LONG)) < 0.01, `${long.seconds} s`);
  assert.ok(long.seconds > 3 * s.seconds);
  const pcm = await speak({ input: SHORT, response_format: 'pcm' });
  assert.equal(pcm.bytes.length, Math.round(seconds(SHORT) * 24000) * 2, 'OpenAI pcm: 24 kHz s16le');
  for (const [fmt, type, magic] of [['mp3', 'audio/mpeg', null], ['flac', 'audio/flac', 'fLaC'], ['opus', 'audio/ogg', 'OggS'], ['aac', 'audio/aac', null]]) {
    const r = await speak({ input: SHORT, response_format: fmt });
    assert.equal(r.status, 200, `${fmt}: ${r.err?.detail}`);
    assert.equal(r.type, type, fmt);
    if (magic) assert.equal(r.bytes.subarray(0, 4).toString(), magic, fmt);
    assert.ok(r.bytes.length > 500, fmt);
  }
});

test('speed changes the duration, languages pick the model\'s language token, and the rest are 400s', async () => {
  const fast = wav((await speak({ input: LONG, speed: 2 })).bytes);
  assert.ok(Math.abs(fast.seconds - seconds(LONG) / 2) < 0.02, `${fast.seconds} s at speed 2`);
  const slow = wav((await speak({ input: SHORT, speed: 0.5 })).bytes);
  assert.ok(Math.abs(slow.seconds - seconds(SHORT) * 2) < 0.02, `${slow.seconds} s at speed 0.5`);
  for (const language of ['zh', 'Chinese', 'ja', 'fr']) {
    const r = await speak({ input: '你好，今天开会。', language });
    assert.equal(r.status, 200, `${language}: ${r.err?.detail}`);
  }
  const bad = await speak({ input: SHORT, language: 'klingon' });
  assert.equal(bad.status, 400);
  assert.match(bad.err.error.message, /cannot speak language 'klingon'; it speaks zh, en, de, it, pt, es, ja, ko, fr, ru/);
  const unknown = await speak({ input: SHORT, voice: 'nobody' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.err.error.message, /unknown voice 'nobody'/);
  assert.equal((await speak({ input: SHORT, speed: 9 })).status, 400);
});

test('a voice is cloned from an upload sent as Xinference\'s client sends it', async () => {
  // restful_client.py speech(prompt_speech=...): form fields, booleans and numbers as Python writes them.
  const r = await speak({ model: 'tts', input: SHORT, voice: '', response_format: 'wav', speed: '1.0', stream: 'False', kwargs: '{}',
    prompt_speech: new Blob([voice]) }, { json: false });
  assert.equal(r.status, 200, r.err?.detail);
  assert.ok(Math.abs(wav(r.bytes).seconds - seconds(SHORT)) < 0.01);
  const junk = await speak({ model: 'tts', input: SHORT, prompt_speech: new Blob([Buffer.from('not a recording at all')]) }, { json: false });
  assert.equal(junk.status, 400);
  assert.match(junk.err.error.message, /Cannot read the voice recording/);
  // A model without a speaker encoder says so.
  const flite = await speak({ model: 'flite', input: SHORT, prompt_speech: new Blob([voice]) }, { json: false });
  assert.equal(flite.status, 400);
  assert.match(flite.err.error.message, /cannot clone a voice/);
});

test('registered voices are named in requests and kept across restarts', async () => {
  const form = new FormData();
  form.append('name', 'alice');
  form.append('file', new Blob([voice]), 'alice.wav');
  const put = await fetch(`${server.url}/v1/audio/voices`, { method: 'POST', body: form });
  assert.equal(put.status, 201, await put.clone().text());
  assert.equal((await put.json()).bytes, voice.length);
  const list = (await api(server, 'GET', '/v1/audio/voices')).json;
  assert.deepEqual(list.data.map((v) => v.name), ['alice']);
  const r = await speak({ input: SHORT, voice: 'alice' });
  assert.equal(r.status, 200, r.err?.detail);
  // The registered recording reaches the model: a bad one is refused when used.
  const bad = new FormData();
  bad.append('name', 'broken');
  bad.append('file', new Blob([Buffer.from('junk junk junk')]), 'b.wav');
  assert.equal((await fetch(`${server.url}/v1/audio/voices`, { method: 'POST', body: bad })).status, 201);
  assert.match((await speak({ input: SHORT, voice: 'broken' })).err.error.message, /Cannot read the voice recording/);
  const badName = new FormData();
  badName.append('name', '../etc');
  badName.append('file', new Blob([voice]), 'x.wav');
  assert.equal((await fetch(`${server.url}/v1/audio/voices`, { method: 'POST', body: badName })).status, 400);

  // Restart on the same home: the voices are still there.
  const home = server.home;
  await server.stop({ keepHome: true });
  server = await startServer({ home });
  // The models come back by themselves; the voices are files in XINFER_HOME/voices.
  assert.ok(await waitFor(async () => (await api(server, 'GET', '/v1/models/tts')).json?.status === 'ready', { timeout: 30000 }));
  assert.deepEqual((await api(server, 'GET', '/v1/audio/voices')).json.data.map((v) => v.name), ['alice', 'broken']);
  assert.equal((await speak({ input: SHORT, voice: 'alice' })).status, 200);
  assert.equal((await api(server, 'DELETE', '/v1/audio/voices/broken')).status, 200);
  assert.equal((await api(server, 'DELETE', '/v1/audio/voices/broken')).status, 404);
});

test('stream: true sends speech sentence by sentence, the same length as the sentences spoken alone', async () => {
  const text = 'First point. Second point! Third point?';
  const res = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tts', input: text, response_format: 'pcm', stream: true }) });
  assert.equal(res.status, 200);
  let total = 0, reads = 0;
  for await (const chunk of res.body) { total += chunk.length; reads++; }
  const expected = ['First point. ', 'Second point! ', 'Third point?'].reduce((n, s) => n + Math.round(seconds(s) * 24000) * 2, 0);
  assert.equal(total, expected, 'each sentence synthesized on its own');
  assert.ok(reads >= 2, `${reads} reads`);
});

test('concurrent requests each get their own state', async () => {
  const texts = [SHORT, LONG, 'Good afternoon.', '下午好。'];
  const results = await Promise.all(texts.map((input) => speak({ input })));
  results.forEach((r, i) => {
    assert.equal(r.status, 200, r.err?.detail);
    assert.ok(Math.abs(wav(r.bytes).seconds - seconds(texts[i])) < 0.01, texts[i]);
  });
});

test('Pocket TTS speaks only in a voice it is given, from an upload or the registry; its length grows with the text', async () => {
  await launch(server, { model_name: 'pocket-tts', model_type: 'audio', model_uid: 'pocket', model_path: POCKET_TTS_MODEL });
  assert.equal((await api(server, 'GET', '/v1/models/pocket')).json.model_engine, 'mtmd-tts');
  const none = await speak({ model: 'pocket', input: SHORT });
  assert.equal(none.status, 400);
  assert.match(none.err.error.message, /Pocket TTS has no voice of its own/);
  const lengths = [];
  for (const input of [SHORT, LONG]) {
    const r = await speak({ model: 'pocket', input, response_format: 'wav', prompt_speech: new Blob([voice]) }, { json: false });
    assert.equal(r.status, 200, r.err?.detail);
    const w = wav(r.bytes);
    assert.deepEqual([w.channels, w.rate], [1, 24000]);
    lengths.push(w.seconds);
  }
  assert.ok(lengths[1] > 2 * lengths[0], `durations ${lengths}`);
  const named = await speak({ model: 'pocket', input: SHORT, voice: 'alice' });
  assert.equal(named.status, 200, named.err?.detail);
  const lang = await speak({ model: 'pocket', input: SHORT, voice: 'alice', language: 'zh' });
  assert.equal(lang.status, 400);
  assert.match(lang.err.error.message, /cannot speak language 'zh'/);
  await api(server, 'DELETE', '/v1/models/pocket');
});
