// Speech through the OpenAI audio API with real engines: flite speaks, pocketsphinx listens.
// Round trips are scored by word error rate against the text that was spoken, and real human
// recordings (pocketsphinx-testdata's LibriVox clips) against their transcripts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { startServer, launch, api, CHAT_MODEL, scratchDir } from './helpers.mjs';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const scratch = scratchDir('xinfer-speech-');
let server, client;

// Word error rate: word-level edit distance over the reference length.
export function wer(reference, hypothesis) {
  const norm = (s) => s.toLowerCase().replace(/[^a-z' ]/g, ' ').split(/\s+/).filter(Boolean);
  const r = norm(reference), h = norm(hypothesis);
  const d = Array.from({ length: r.length + 1 }, (_, i) => [i, ...Array(h.length).fill(0)]);
  for (let j = 1; j <= h.length; j++) d[0][j] = j;
  for (let i = 1; i <= r.length; i++)
    for (let j = 1; j <= h.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
  return d[r.length][h.length] / r.length;
}

async function transcribe(bytes, name, fields = {}) {
  const form = new FormData();
  form.append('model', 'pocketsphinx-en-us');
  form.append('file', new Blob([bytes]), name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: res.status, text, json, type: res.headers.get('content-type') };
}

// What ffmpeg makes of some audio bytes: its container and codec, and how long it plays.
function probe(bytes) {
  const file = join(scratch, 'probe.bin');
  writeFileSync(file, bytes);
  const info = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=format_name', '-of', 'json', file]));
  return { container: info.format.format_name, codec: info.streams[0].codec_name };
}
function decodedSeconds(bytes) {
  const file = join(scratch, 'decode.bin');
  writeFileSync(file, bytes);
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '16000', '-'], { maxBuffer: 1 << 28 });
  return pcm.length / 32000;
}
// Raw 16-bit mono samples with a wav header for the given rate.
function wavOf(pcm, rate) {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + pcm.length, 4); h.write('WAVEfmt ', 8); h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

async function speak(input, extra = {}) {
  const r = await fetch(`${server.url}/v1/audio/speech`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'flite', input, voice: 'alloy', response_format: 'wav', ...extra }),
  });
  return { status: r.status, type: r.headers.get('content-type'), bytes: Buffer.from(await r.arrayBuffer()) };
}

before(async () => {
  server = await startServer();
  // Built-in engines launch with no model_path at all.
  await launch(server, { model_name: 'pocketsphinx-en-us', model_type: 'audio' });
  await launch(server, { model_name: 'flite', model_type: 'audio' });
  await launch(server, { model_name: 'espeak-ng', model_type: 'audio' });
  await launch(server, { model_name: 'chat', model_path: CHAT_MODEL });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
});
after(async () => server?.stop());

const SENTENCES = [
  'the quick brown fox jumps over the lazy dog',
  'please call me back when you have a moment',
  'the meeting starts at ten in the morning',
  'we need more time to finish the report',
];

test('round trip: flite speaks, pocketsphinx transcribes, word error rate stays low', async () => {
  let errors = 0, words = 0;
  for (const s of SENTENCES) {
    const audio = await speak(s);
    assert.equal(audio.status, 200);
    const t = await transcribe(audio.bytes, 'speech.wav');
    assert.equal(t.status, 200, t.text);
    const n = s.split(' ').length;
    errors += wer(s, t.json.text) * n;
    words += n;
  }
  const rate = errors / words;
  console.log(`flite -> pocketsphinx WER ${(rate * 100).toFixed(1)}% over ${words} words`);
  assert.ok(rate <= 0.2, `WER ${rate}`);  // measured 14.7% (deterministic engines)
});

test('LibriVox human recordings transcribe within a WER bound', async () => {
  const lines = readFileSync(join(LIBRIVOX, 'transcription'), 'utf8').trim().split('\n');
  let errors = 0, words = 0;
  for (const line of lines) {
    const m = line.match(/^<s> (.*) <\/s> \((.*)\)$/);
    const t = await transcribe(readFileSync(join(LIBRIVOX, `${m[2]}.wav`)), `${m[2]}.wav`);
    assert.equal(t.status, 200, t.text);
    const n = m[1].split(' ').length;
    errors += wer(m[1], t.json.text) * n;
    words += n;
  }
  const rate = errors / words;
  console.log(`LibriVox WER ${(rate * 100).toFixed(1)}% over ${words} words`);
  assert.ok(rate <= 0.35, `WER ${rate}`);  // measured 28.2%
});

test('uploads in wav, mp3, flac, ogg/opus, m4a and webm all decode', async () => {
  const wav = (await speak(SENTENCES[0])).bytes;
  const src = join(scratch, 'fox.wav');
  writeFileSync(src, wav);
  const formats = { mp3: ['-c:a', 'libmp3lame'], flac: [], ogg: ['-c:a', 'libopus'], m4a: ['-c:a', 'aac'], webm: ['-c:a', 'libopus'] };
  for (const [ext, args] of Object.entries(formats)) {
    const out = join(scratch, `fox.${ext}`);
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', src, ...args, out]);
    const t = await transcribe(readFileSync(out), `fox.${ext}`);
    assert.equal(t.status, 200, `${ext}: ${t.text}`);
    assert.ok(wer(SENTENCES[0], t.json.text) <= 0.25, `${ext}: "${t.json.text}"`);
  }
});

test('response formats: text, srt, vtt, verbose_json with segments', async () => {
  const audio = (await speak('hello there. how are you today? the weather is nice.')).bytes;
  const text = await transcribe(audio, 'a.wav', { response_format: 'text' });
  assert.match(text.type, /text\/plain/);
  assert.ok(text.text.trim().length > 5);
  const srt = await transcribe(audio, 'a.wav', { response_format: 'srt' });
  assert.match(srt.text, /^1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n/);
  const vtt = await transcribe(audio, 'a.wav', { response_format: 'vtt' });
  assert.match(vtt.text, /^WEBVTT\n\n\d\d:\d\d:\d\d\.\d\d\d --> /);
  const v = await transcribe(audio, 'a.wav', { response_format: 'verbose_json' });
  assert.equal(v.json.task, 'transcribe');
  assert.equal(v.json.language, 'english');
  assert.ok(v.json.duration > 1 && v.json.duration < 10);
  assert.ok(v.json.segments.length >= 1);
  for (const s of v.json.segments) assert.ok(s.end > s.start && s.end <= v.json.duration + 0.05);
});

test('long audio (two minutes of LibriVox) is transcribed in many segments', async () => {
  const lines = readFileSync(join(LIBRIVOX, 'transcription'), 'utf8').trim().split('\n').map((l) => l.match(/^<s> (.*) <\/s> \((.*)\)$/));
  const clips = lines.map((m) => ({ pcm: readFileSync(join(LIBRIVOX, `${m[2]}.wav`)).subarray(44), text: m[1] }));
  const parts = [];
  let bytes = 0, reference = '';
  while (bytes < 16000 * 2 * 120) for (const c of clips) { parts.push(c.pcm); bytes += c.pcm.length; reference += ` ${c.text}`; }
  const data = Buffer.concat(parts);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0); header.writeUInt32LE(36 + data.length, 4); header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24); header.writeUInt32LE(32000, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write('data', 36); header.writeUInt32LE(data.length, 40);
  const v = await transcribe(Buffer.concat([header, data]), 'long.wav', { response_format: 'verbose_json' });
  assert.equal(v.status, 200, v.text);
  assert.ok(v.json.duration >= 120);
  assert.ok(v.json.segments.length >= 10, `${v.json.segments.length} segments`);
  assert.ok(v.json.segments.at(-1).end > 100, 'segments reach the end of the audio');
  const rate = wer(reference, v.json.text);
  console.log(`long audio: ${v.json.duration.toFixed(0)} s, ${v.json.segments.length} segments, WER ${(rate * 100).toFixed(1)}%`);
  assert.ok(rate <= 0.4, `WER ${rate}`);
});

test('speech: every format, voices, speed, streaming; espeak-ng speaks Mandarin', async () => {
  // ffmpeg says what each answer really is: container, codec, and how long it plays. mp3 and
  // aac both begin with 0xFF, so only a real demuxer tells them apart.
  const reference = (await speak('testing one two three')).bytes;
  const referenceSeconds = decodedSeconds(reference);
  const expected = { mp3: ['mp3', 'mp3'], wav: ['wav', 'pcm_s16le'], flac: ['flac', 'flac'], opus: ['ogg', 'opus'], aac: ['aac', 'aac'] };
  for (const [format, [container, codec]] of Object.entries(expected)) {
    const r = await speak('testing one two three', { response_format: format });
    assert.equal(r.status, 200);
    const info = probe(r.bytes);
    assert.deepEqual([info.container, info.codec], [container, codec], format);
    assert.ok(Math.abs(decodedSeconds(r.bytes) - referenceSeconds) < 0.1, `${format} plays as long as the wav`);
  }
  // pcm is OpenAI's: raw 16-bit little-endian mono at 24 kHz. Read at that rate it lasts as long
  // as the wav and is still understood (at any other rate the words would be too fast or slow).
  const pcm = await speak(SENTENCES[0], { response_format: 'pcm' });
  assert.ok(Math.abs(pcm.bytes.length / 2 / 24000 - decodedSeconds((await speak(SENTENCES[0])).bytes)) < 0.01, 'pcm is 24 kHz');
  const heard = await transcribe(wavOf(pcm.bytes, 24000), 'pcm24k.wav');
  assert.ok(wer(SENTENCES[0], heard.json.text) <= 0.25, `24 kHz pcm understood: "${heard.json.text}"`);
  const slow = await speak('testing one two three', { response_format: 'pcm', speed: 0.5 });
  const fast = await speak('testing one two three', { response_format: 'pcm', speed: 2 });
  assert.ok(slow.bytes.length > fast.bytes.length * 2.5, 'speed changes duration');
  const male = await speak('testing one two three', { voice: 'rms' });
  assert.equal(male.status, 200);

  const stream = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'flite', input: 'First sentence here. Second one follows. And a third.', response_format: 'pcm', stream: true }) });
  assert.equal(stream.status, 200);
  let chunks = 0, total = 0;
  for await (const c of stream.body) { chunks++; total += c.length; }
  assert.ok(chunks >= 3 && total > 24000, `${chunks} chunks, ${total} bytes`);

  // Streaming is real: with forty sentences, the first audio arrives long before the last is made
  // (a proxy that buffered the answer would deliver it all at the end). The times are compared
  // within this one request, so the machine's speed cancels out.
  const long = Array.from({ length: 40 }, (_, i) => `This is sentence number ${i + 1} of the long reading.`).join(' ');
  const t0 = Date.now();
  const longStream = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'flite', input: long, response_format: 'pcm', stream: true }) });
  let first = null;
  for await (const c of longStream.body) if (first === null && c.length) first = Date.now() - t0;
  const whole = Date.now() - t0;
  assert.ok(first !== null && first < whole / 3, `first audio after ${first} ms of ${whole} ms`);

  const zh = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'espeak-ng', input: '你好，世界。今天天气很好。', voice: 'cmn', response_format: 'wav' }) });
  const zhBytes = Buffer.from(await zh.arrayBuffer());
  assert.equal(zh.status, 200);
  assert.ok(zhBytes.length > 20000 && zhBytes.subarray(0, 4).toString() === 'RIFF');
});

test('the official openai client transcribes and synthesizes unchanged', async () => {
  const speech = await client.audio.speech.create({ model: 'flite', voice: 'alloy', input: SENTENCES[2], response_format: 'wav' });
  const wav = Buffer.from(await speech.arrayBuffer());
  assert.equal(wav.subarray(0, 4).toString(), 'RIFF');
  const t = await client.audio.transcriptions.create({ model: 'pocketsphinx-en-us', file: await toFile(wav, 'meeting.wav') });
  assert.ok(wer(SENTENCES[2], t.text) <= 0.25, t.text);
  const srt = await client.audio.transcriptions.create({ model: 'pocketsphinx-en-us', file: await toFile(wav, 'meeting.wav'), response_format: 'srt' });
  assert.match(srt, /-->/);
});

test('bad uploads and unsupported options are clear 400/413s; the service stays up', async () => {
  const wav = (await speak('short test')).bytes;
  const cases = [
    [await transcribe(Buffer.from('this is not audio at all, just text'), 'x.wav'), 400, /not audio|no audio/],
    [await transcribe(Buffer.alloc(0), 'empty.wav'), 400, /empty/],
    [await transcribe(wav.subarray(0, 40), 'cut.wav'), 400, /./],
    [await transcribe(wav, 'a.wav', { language: 'fr' }), 400, /English only/],
    [await transcribe(wav, 'a.wav', { response_format: 'xml' }), 400, /response_format/],
    [await api(server, 'POST', '/v1/audio/speech', { model: 'flite', input: 'hi', voice: 'nobody' }), 400, /voice/],
    [await api(server, 'POST', '/v1/audio/speech', { model: 'flite', input: 'hi', response_format: 'ogg-vorbis' }), 400, /response_format/],
    [await api(server, 'POST', '/v1/audio/speech', { model: 'flite', input: 'hi', speed: 9 }), 400, /speed/],
    [await api(server, 'POST', '/v1/audio/speech', { model: 'flite', input: '' }), 400, /input/],
    [await api(server, 'POST', '/v1/audio/speech', { model: 'pocketsphinx-en-us', input: 'hi' }), 400, /speech synthesis/],
    [await api(server, 'POST', '/v1/chat/completions', { model: 'flite', messages: [{ role: 'user', content: 'x' }] }), 400, /audio model/],
    [await api(server, 'POST', '/v1/audio/speech', { model: 'espeak-ng', input: 'hi', voice: 'xx-nonexistent' }), 400, /voice/],
  ];
  for (const [r, status, re] of cases) {
    assert.equal(r.status, status, r.text);
    assert.match(r.json.error.message, re);
    assert.equal(r.json.detail, r.json.error.message);
  }
  // Translation is a whisper feature: pocketsphinx says so.
  const form = new FormData();
  form.append('model', 'pocketsphinx-en-us');
  form.append('file', new Blob([wav]), 'a.wav');
  const tr = await fetch(`${server.url}/v1/audio/translations`, { method: 'POST', body: form });
  assert.equal(tr.status, 400);
  assert.match((await tr.json()).error.message, /cannot translate/);
  // Over the body limit (64 MiB by default): 413.
  const big = await transcribe(Buffer.alloc(65 * 1024 * 1024), 'big.wav');
  assert.equal(big.status, 413);
  assert.equal((await transcribe(wav, 'again.wav')).status, 200, 'still serving');
});
