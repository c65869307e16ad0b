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
                <td>{m.replica}</td>
                <td>{m.requests ? `${m.requests.active} / ${m.requests.waiting}` : '-'}</td>
                <td>
                  <button class="ghost" onClick={() => setTrying(trying === m.id ? null : m.id)}>{t('tryIt')}</button>
                  <button class="danger" onClick={() => terminate(m.id)}>{t('terminate')}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
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
