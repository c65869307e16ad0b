// The catalog as cards, with search and filters; a launch dialog with the launch options, a live
// progress bar (download bytes, speed and time left included) and "copy as CLI / curl".
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { t, type Key } from '../i18n';

const KINDS: [string, string, Key][] = [['llm', 'LLM', 'llm'], ['embedding', 'embedding', 'embedding'], ['rerank', 'rerank', 'rerank'],
  ['audio', 'audio', 'audio'], ['custom', '', 'custom']];

type Spec = { model_name: string; model_type?: string; model_description?: string; model_ability?: string[]; model_lang?: string[];
  language?: string[]; is_builtin?: boolean; model_specs?: any[]; model_family?: string };

export function LaunchPage({ kind }: { kind: string }) {
  const [specs, setSpecs] = useState<Spec[]>([]);
  const [error, setError] = useState('');
  const [query, setQuery] = useState('');
  const [ability, setAbility] = useState('');
  const [language, setLanguage] = useState('');
  const [chosen, setChosen] = useState<Spec | null>(null);
  useEffect(() => {
    setSpecs([]);
    setError('');
    setQuery('');  // a new tab starts unfiltered
    setAbility('');
    setLanguage('');
    const types = kind === 'custom' ? ['LLM', 'embedding', 'rerank', 'audio'] : [KINDS.find((k) => k[0] === kind)?.[1] ?? 'LLM'];
    Promise.all(types.map((ty) => api<Spec[]>('GET', `/v1/model_registrations/${ty}?detailed=true`)
      .then((list) => list.map((s) => ({ ...s, model_type: ty })))))
      .then((lists) => setSpecs(lists.flat().filter((s) => kind !== 'custom' || !s.is_builtin)))
      .catch((e) => setError(e.message));
  }, [kind]);
  const abilities = useMemo(() => [...new Set(specs.flatMap((s) => s.model_ability ?? []))].sort(), [specs]);
  const languages = useMemo(() => [...new Set(specs.flatMap((s) => s.model_lang ?? s.language ?? []))].sort(), [specs]);
  const shown = specs.filter((s) => (!query || (s.model_name + ' ' + (s.model_description ?? '')).toLowerCase().includes(query.toLowerCase())) &&
    (!ability || (s.model_ability ?? []).includes(ability)) && (!language || (s.model_lang ?? s.language ?? []).includes(language)));
  return (
    <section>
      <div class="tabs">{KINDS.map(([id, , label]) => <a href={`#/launch_model/${id}`} class={id === kind ? 'active' : ''}>{t(label)}</a>)}</div>
      <div class="filters">
        <input type="search" placeholder={t('search')} value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <select aria-label={t('ability')} value={ability} onChange={(e) => setAbility((e.target as HTMLSelectElement).value)}>
          <option value="">{t('ability')}: {t('all')}</option>
          {abilities.map((a) => <option value={a}>{a}</option>)}
        </select>
        <select aria-label={t('language')} value={language} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value)}>
          <option value="">{t('language')}: {t('all')}</option>
          {languages.map((l) => <option value={l}>{l}</option>)}
        </select>
      </div>
      {error && <p class="error">{error}</p>}
      {!error && shown.length === 0 && <p class="muted">{t('noModels')}</p>}
      <div class="cards">
        {shown.map((s) => (
          <button class="card" data-model={s.model_name} onClick={() => setChosen(s)}>
            <strong>{s.model_name}</strong>
            <p>{s.model_description}</p>
            <div class="chips">{[...(s.model_ability ?? []), ...(s.model_lang ?? s.language ?? [])].map((c) => <span class="chip">{c}</span>)}</div>
          </button>
        ))}
      </div>
      {chosen && <LaunchDialog spec={chosen} onClose={() => setChosen(null)} />}
    </section>
  );
}

function LaunchDialog({ spec, onClose }: { spec: Spec; onClose: () => void }) {
  const specsList = spec.model_specs ?? [];
  const formats = [...new Set(specsList.map((s) => s.model_format).filter(Boolean))];
  const [format, setFormat] = useState<string>(formats[0] ?? '');
  const sizes = [...new Set(specsList.filter((s) => !format || s.model_format === format).map((s) => String(s.model_size_in_billions ?? '')).filter(Boolean))];
  const [size, setSize] = useState(sizes[0] ?? '');
  const entry = specsList.find((s) => (!format || s.model_format === format) && (!size || String(s.model_size_in_billions) === size));
  const source = entry?.model_src ? Object.values(entry.model_src)[0] as any : entry;
  const quants: string[] = source?.quantizations ?? (entry?.quantization ? [entry.quantization] : []);
  const [quant, setQuant] = useState(quants[0] ?? '');
  const [uid, setUid] = useState('');
  const [path, setPath] = useState('');
  const [replica, setReplica] = useState(1);
  const [gpu, setGpu] = useState('none');
  // The machine's GPUs (GET /v1/cluster/devices), to pick indexes from and to bound the count.
  const [gpus, setGpus] = useState<{ index: number; name: string; memory_total_mb: number; memory_free_mb: number }[]>([]);
  const [gpuIdx, setGpuIdx] = useState<number[]>([]);
  useEffect(() => { api<any>('GET', '/v1/cluster/devices').then((d) => setGpus(d?.gpus ?? [])).catch(() => {}); }, []);
  const [limits, setLimits] = useState('');
  const [keepAlive, setKeepAlive] = useState('');
  const [hub, setHub] = useState('');
  const [options, setOptions] = useState('{}');
  const [state, setState] = useState<{ uid?: string; progress?: number; note?: string; error?: string; done?: boolean }>({});
  const [copied, setCopied] = useState('');

  function body() {
    let extra = {};
    try { extra = JSON.parse(options || '{}'); } catch { throw new Error(`${t('engineOptions')}: JSON`); }
    const b: any = { model_name: spec.model_name, model_type: spec.model_type, replica, wait_ready: false, ...extra };
    if (uid) b.model_uid = uid;
    if (format) b.model_format = format;
    if (size) b.model_size_in_billions = size;
    if (quant) b.quantization = quant;
    if (path) b.model_path = path;
    if (gpu !== 'none') b.n_gpu = gpu === 'auto' ? 'auto' : Number(gpu);
    if (gpuIdx.length) b.gpu_idx = [...gpuIdx].sort((x, y) => x - y);
    if (limits) b.request_limits = Number(limits);
    if (keepAlive) b.keep_alive = keepAlive;
    if (hub) b.download_hub = hub;
    return b;
  }
  function cli() {
    const b = body();
    const args = ['xinference launch', '--model-name', b.model_name, '--model-type', b.model_type];
    if (b.model_uid) args.push('-u', b.model_uid);
    if (b.model_format) args.push('-f', b.model_format);
    if (b.model_size_in_billions) args.push('-s', b.model_size_in_billions);
    if (b.quantization) args.push('-q', b.quantization);
    if (b.model_path) args.push('--model-path', b.model_path);
    if (b.replica !== 1) args.push('-r', String(b.replica));
    if (b.n_gpu !== undefined) args.push('--n-gpu', String(b.n_gpu));
    if (b.gpu_idx) args.push('--gpu-idx', b.gpu_idx.join(','));
    return args.join(' ');
  }
  const curl = () => `curl -X POST ${location.origin}/v1/models -H 'Content-Type: application/json' -d '${JSON.stringify({ ...body(), wait_ready: true })}'`;

  async function launch() {
    setState({ progress: 0 });
    try {
      const r = await api<{ model_uid: string }>('POST', '/v1/models', body());
      setState({ uid: r.model_uid, progress: 0.05 });
      for (;;) {
        await new Promise((res) => setTimeout(res, 400));
        const p = await api<any>('GET', `/v1/models/${encodeURIComponent(r.model_uid)}/progress`);
        const d = p.download;
        const note = d && d.state === 'downloading'
          ? `${(d.bytes_done / 1048576).toFixed(1)}/${(d.bytes_total / 1048576).toFixed(1)} MiB` +
            (d.bytes_per_second ? `, ${(d.bytes_per_second / 1048576).toFixed(1)} MiB/s` : '') + (d.eta_seconds != null ? `, ${d.eta_seconds} s ${t('left')}` : '')
          : p.stage;
        if (p.status === 'ready') return setState({ uid: r.model_uid, progress: 1, done: true });
        if (p.status === 'failed' || p.failure_reason) return setState({ uid: r.model_uid, error: p.failure_reason ?? t('failed') });
        setState({ uid: r.model_uid, progress: p.progress, note });
      }
    } catch (e: any) {
      setState({ error: e.message });
    }
  }
  const field = (label: string, input: any) => <label>{label}{input}</label>;
  return (
    <div class="overlay" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="dialog" role="dialog" aria-label={spec.model_name}>
        <h2>{spec.model_name}</h2>
        <div class="form">
          {formats.length > 0 && field(t('format'), <select value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}>{formats.map((f) => <option>{f}</option>)}</select>)}
          {sizes.length > 0 && field(t('size'), <select value={size} onChange={(e) => setSize((e.target as HTMLSelectElement).value)}>{sizes.map((s) => <option>{s}</option>)}</select>)}
          {quants.length > 0 && field(t('quantization'), <select value={quant} onChange={(e) => setQuant((e.target as HTMLSelectElement).value)}>{quants.map((q) => <option>{q}</option>)}</select>)}
          {field(t('uid'), <input value={uid} onInput={(e) => setUid((e.target as HTMLInputElement).value)} />)}
          {field(t('modelPath'), <input value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />)}
          {field(t('replica'), <input type="number" min={1} value={replica} onInput={(e) => setReplica(Number((e.target as HTMLInputElement).value) || 1)} />)}
          {field(t('nGpu'), <select value={gpu} onChange={(e) => setGpu((e.target as HTMLSelectElement).value)}>
            <option value="none">{t('cpu')}</option>{gpus.length > 0 && <option value="auto">{t('auto')}</option>}
            {gpus.map((_, i) => <option value={String(i + 1)}>{i + 1}</option>)}</select>)}
          {<div class="gpu-field">{t('gpuIdx')}{gpus.length === 0 ? <span class="muted">{t('noGpus')}</span> : (
            <span class="gpu-list">{gpus.map((g) => (
              <label class="check"><input type="checkbox" data-gpu={g.index} checked={gpuIdx.includes(g.index)}
                onChange={(e) => setGpuIdx((e.target as HTMLInputElement).checked ? [...gpuIdx, g.index] : gpuIdx.filter((i) => i !== g.index))} />
                {`${g.index} · ${g.name} · ${(g.memory_free_mb / 1024).toFixed(1)}/${(g.memory_total_mb / 1024).toFixed(1)} GiB ${t('free')}`}</label>
            ))}</span>)}</div>}
          {field(t('requestLimits'), <input type="number" min={1} value={limits} onInput={(e) => setLimits((e.target as HTMLInputElement).value)} />)}
          {field(t('keepAlive'), <input value={keepAlive} onInput={(e) => setKeepAlive((e.target as HTMLInputElement).value)} />)}
          {field(t('downloadHub'), <select value={hub} onChange={(e) => setHub((e.target as HTMLSelectElement).value)}>
            <option value="">{t('auto')}</option><option value="huggingface">Hugging Face</option><option value="modelscope">ModelScope</option></select>)}
          {field(t('engineOptions'), <textarea rows={2} value={options} onInput={(e) => setOptions((e.target as HTMLTextAreaElement).value)} />)}
        </div>
        {state.progress !== undefined && !state.error && (
          <div class="progress" role="progressbar" aria-valuenow={Math.round((state.progress ?? 0) * 100)}>
            <div style={{ width: `${(state.progress ?? 0) * 100}%` }} />
            <span>{state.done ? t('ready') : `${t('launching')} ${Math.round((state.progress ?? 0) * 100)}% ${state.note ?? ''}`}</span>
          </div>
        )}
        {state.error && <p class="error">{state.error}</p>}
        {state.done && <p><a href={`#/running_models/${spec.model_type}`}>{t('running')} →</a></p>}
        {copied && <textarea class="copy" readOnly rows={3} value={copied} />}
        <div class="buttons">
          <button class="ghost" onClick={() => { try { setCopied(cli()); navigator.clipboard?.writeText(cli()).catch(() => {}); } catch (e: any) { setState({ error: e.message }); } }}>{t('copyCli')}</button>
          <button class="ghost" onClick={() => { try { setCopied(curl()); navigator.clipboard?.writeText(curl()).catch(() => {}); } catch (e: any) { setState({ error: e.message }); } }}>{t('copyCurl')}</button>
          <span class="grow" />
          <button class="ghost" onClick={onClose}>{t('close')}</button>
          <button class="primary" disabled={state.progress !== undefined && !state.error && !state.done} onClick={launch}>{t('launchIt')}</button>
        </div>
      </div>
    </div>
  );
}
