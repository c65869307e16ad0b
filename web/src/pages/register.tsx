// Custom registrations: register a spec as JSON, list them, unregister.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { t } from '../i18n';

const TYPES = ['LLM', 'embedding', 'rerank', 'audio'];
const EXAMPLE = JSON.stringify({ version: 2, model_name: 'my-model', context_length: 4096, model_lang: ['en'], model_ability: ['chat'],
  model_specs: [{ model_format: 'ggufv2', model_size_in_billions: 7, quantization: 'q4_k_m', model_uri: 'file:///models/my-model.gguf' }] }, null, 2);

export function RegisterPage() {
  const [type, setType] = useState('LLM');
  const [spec, setSpec] = useState(EXAMPLE);
  const [list, setList] = useState<{ type: string; name: string }[]>([]);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    Promise.all(TYPES.map((ty) => api<any[]>('GET', `/v1/model_registrations/${ty}`).then((l) => l.filter((m) => !m.is_builtin).map((m) => ({ type: ty, name: m.model_name })))))
      .then((ls) => setList(ls.flat())).catch((e) => setError(e.message));
  }, [tick]);
  async function register() {
    setError('');
    try {
      JSON.parse(spec);
      await api('POST', `/v1/model_registrations/${type}`, { model: spec, persist: true });
      setTick(tick + 1);
    } catch (e: any) { setError(e.message); }
  }
  return (
    <section>
      <h2>{t('register')}</h2>
      <div class="form">
        <label>{t('type')}<select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>{TYPES.map((ty) => <option>{ty}</option>)}</select></label>
        <label>{t('registerJson')}<textarea rows={10} value={spec} onInput={(e) => setSpec((e.target as HTMLTextAreaElement).value)} /></label>
      </div>
      <button class="primary" onClick={register}>{t('doRegister')}</button>
      {error && <p class="error">{error}</p>}
      <h3>{t('registered')}</h3>
      {list.length === 0 ? <p class="muted">{t('noModels')}</p> : (
        <table class="models"><tbody>{list.map((m) => (
          <tr><td>{m.type}</td><td>{m.name}</td><td><button class="danger" onClick={async () => {
            try { await api('DELETE', `/v1/model_registrations/${m.type}/${encodeURIComponent(m.name)}`); setTick(tick + 1); } catch (e: any) { setError(e.message); }
          }}>{t('unregister')}</button></td></tr>))}</tbody></table>
      )}
    </section>
  );
}
