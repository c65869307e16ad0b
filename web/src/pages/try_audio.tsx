// Speech: transcribe an uploaded file or a microphone recording (segments with times), or
// speak text (voice, speed, format) and play or download the result.
import { useRef, useState } from 'preact/hooks';
import { apiForm, authHeaders } from '../api';
import { t } from '../i18n';

export function SpeechPanel({ uid, abilities }: { uid: string; abilities: string[] }) {
  return abilities.includes('text2audio') ? <SpeakPanel uid={uid} /> : <TranscribePanel uid={uid} />;
}

function TranscribePanel({ uid }: { uid: string }) {
  const [result, setResult] = useState<any>(null);
  const [error, setError] = useState('');
  const [recording, setRecording] = useState(false);
  const recorder = useRef<MediaRecorder | null>(null);
  async function transcribe(file: Blob, name: string) {
    setError('');
    setResult(null);
    const form = new FormData();
    form.append('model', uid);
    form.append('file', file, name);
    form.append('response_format', 'verbose_json');
    try { setResult(await apiForm('/v1/audio/transcriptions', form)); } catch (e: any) { setError(e.message); }
  }
  async function record() {
    if (recording) return recorder.current?.stop();
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks: Blob[] = [];
      const r = new MediaRecorder(stream);
      r.ondataavailable = (e) => chunks.push(e.data);
      r.onstop = () => { stream.getTracks().forEach((tr) => tr.stop()); setRecording(false); transcribe(new Blob(chunks, { type: r.mimeType }), 'recording.webm'); };
      recorder.current = r;
      r.start();
      setRecording(true);
    } catch (e: any) { setError(e.message); }
  }
  const time = (s: number) => `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, '0')}`;
  return (
    <div>
      <label>{t('upload')}<input type="file" accept="audio/*,video/*" onChange={(e) => {
        const f = (e.target as HTMLInputElement).files?.[0];
        if (f) transcribe(f, f.name);
      }} /></label>
      <button class="ghost" onClick={record}>{recording ? t('stopRecording') : t('record')}</button>
      {error && <p class="error">{error}</p>}
      {result && (
        <div class="transcript">
          <p>{result.text}</p>
          <ul>{(result.segments ?? []).map((s: any) => <li><span class="muted">{time(s.start)}–{time(s.end)}</span> {s.text}</li>)}</ul>
        </div>
      )}
    </div>
  );
}

function SpeakPanel({ uid }: { uid: string }) {
  const [text, setText] = useState('Hello! This is xinfer speaking.');
  const [voice, setVoice] = useState('');
  const [speed, setSpeed] = useState(1);
  const [format, setFormat] = useState('mp3');
  const [audio, setAudio] = useState('');
  const [error, setError] = useState('');
  async function speak() {
    setError('');
    try {
      const res = await fetch('/v1/audio/speech', { method: 'POST', headers: { ...authHeaders(), 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: uid, input: text, voice: voice || undefined, speed, response_format: format }) });
      if (!res.ok) {
        const j = await res.json().catch(() => null);
        throw new Error(j?.error?.message ?? j?.detail ?? String(res.status));
      }
      if (audio) URL.revokeObjectURL(audio);
      setAudio(URL.createObjectURL(await res.blob()));
    } catch (e: any) { setError(e.message); }
  }
  return (
    <div>
      <label>{t('text')}<textarea rows={3} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} /></label>
      <div class="form row">
        <label>{t('voice')}<input value={voice} onInput={(e) => setVoice((e.target as HTMLInputElement).value)} /></label>
        <label>{t('speed')}<input type="number" step="0.1" min="0.25" max="4" value={speed} onInput={(e) => setSpeed(Number((e.target as HTMLInputElement).value))} /></label>
        <label>{t('format')}<select value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}>
          {['mp3', 'wav', 'opus', 'aac', 'flac', 'pcm'].map((f) => <option>{f}</option>)}</select></label>
      </div>
      <button class="primary" onClick={speak}>{t('speak')}</button>
      {error && <p class="error">{error}</p>}
      {audio && <p><audio controls src={audio} /> <a href={audio} download={`speech.${format}`}>{t('download')}</a></p>}
    </div>
  );
}
