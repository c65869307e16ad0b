// Running models of one type: state, replicas, requests in flight and queued; terminate; and a
// "try it" panel per model (chat, embeddings, rerank, speech to text, text to speech).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { t, type Key } from '../i18n';
import { ChatPanel } from './try_chat';
import { EmbedPanel, RerankPanel } from './try_search';
import { SpeechPanel } from './try_audio';

const TYPES: [string, Key][] = [['LLM', 'llm'], ['embedding', 'embedding'], ['rerank', 'rerank'], ['audio', 'audio']];

export function RunningPage({ kind }: { kind: string }) {
  const [models, setModels] = useState<any[]>([]);
  const [error, setError] = useState('');
  const [trying, setTrying] = useState<string | null>(null);
  const [details, setDetails] = useState<{ uid: string; what: 'events' | 'logs' } | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    api<any>('GET', '/v1/models').then((r) => live && setModels(r.data.filter((m: any) => m.model_type === kind))).catch((e) => live && setError(e.message));
    const timer = setTimeout(() => setTick(tick + 1), 2000);  // live state without a reload
    return () => { live = false; clearTimeout(timer); };
  }, [kind, tick]);
  async function terminate(uid: string) {
    if (!confirm(t('confirmTerminate'))) return;
    try {
      await api('DELETE', `/v1/models/${encodeURIComponent(uid)}`);
      if (trying === uid) setTrying(null);
      setTick(tick + 1);
    } catch (e: any) { setError(e.message); }
  }
  async function scale(uid: string, replicas: number) {
    try {
      await api('POST', `/v1/models/${encodeURIComponent(uid)}/replicas`, { replica: replicas });
      setTick(tick + 1);
    } catch (e: any) { setError(e.message); }
  }
  const model = models.find((m) => m.id === trying);
  return (
    <section>
      <div class="tabs">{TYPES.map(([id, label]) => <a href={`#/running_models/${id}`} class={id === kind ? 'active' : ''}>{t(label)}</a>)}</div>
      {error && <p class="error">{error}</p>}
      {models.length === 0 ? <p class="muted">{t('noModels')}</p> : (
        <table class="models">
          <thead><tr><th>UID</th><th>{t('name')}</th><th>{t('status')}</th><th>{t('replicas')}</th><th>{t('requests')}</th><th>{t('actions')}</th></tr></thead>
          <tbody>
            {models.map((m) => (
              <tr data-uid={m.id}>
                <td>{m.id}</td>
                <td>{m.model_name}</td>
                <td><span class={`state ${m.status}`}>{m.status}</span></td>
                <td class="replicas">
                  <button class="ghost small" aria-label="fewer replicas" disabled={m.replica <= 1} onClick={() => scale(m.id, m.replica - 1)}>−</button>
                  <span>{m.replica}</span>
                  <button class="ghost small" aria-label="more replicas" onClick={() => scale(m.id, m.replica + 1)}>+</button>
                </td>
                <td>{m.requests ? `${m.requests.active} / ${m.requests.waiting}` : '-'}</td>
                <td>
                  <button class="ghost" onClick={() => setTrying(trying === m.id ? null : m.id)}>{t('tryIt')}</button>
                  <button class="ghost" onClick={() => setDetails(details?.uid === m.id && details?.what === 'events' ? null : { uid: m.id, what: 'events' })}>{t('events')}</button>
                  <button class="ghost" onClick={() => setDetails(details?.uid === m.id && details?.what === 'logs' ? null : { uid: m.id, what: 'logs' })}>{t('logs')}</button>
                  <button class="danger" onClick={() => terminate(m.id)}>{t('terminate')}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {details && <Details uid={details.uid} what={details.what} tick={tick} />}
      {model && (
        <div class="panel">
          <h3>{t('tryIt')}: {model.id}</h3>
          {kind === 'LLM' && <ChatPanel uid={model.id} />}
          {kind === 'embedding' && <EmbedPanel uid={model.id} />}
          {kind === 'rerank' && <RerankPanel uid={model.id} />}
          {kind === 'audio' && <SpeechPanel uid={model.id} abilities={model.model_ability ?? []} />}
        </div>
      )}
    </section>
  );
}

// A model's life-cycle events, or the tail of its first replica's engine log; refreshed live.
function Details({ uid, what, tick }: { uid: string; what: 'events' | 'logs'; tick: number }) {
  const [text, setText] = useState('');
  useEffect(() => {
    const path = what === 'events' ? `/v1/models/${encodeURIComponent(uid)}/events` : `/v1/models/${encodeURIComponent(uid)}/logs?lines=200`;
    api<any>('GET', path).then((r) => setText(what === 'events'
      ? r.map((e: any) => `${new Date(e.time * 1000).toLocaleTimeString()}  ${e.event}  ${e.detail ?? ''}`).join('\n')
      : r.log)).catch((e) => setText(e.message));
  }, [uid, what, tick]);
  return (
    <div class="panel">
      <h3>{t(what)}: {uid}</h3>
      <pre class={`json ${what}`}>{text}</pre>
    </div>
  );
}
