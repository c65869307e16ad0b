// A small monitoring view: the service's own metrics (/metrics, Prometheus text) sampled every two
// seconds while the page is open; per model over the last five minutes: requests per second,
// tokens per second, time to first token, requests in flight and queued, and 429s.
import { useEffect, useState } from 'preact/hooks';
import { authHeaders } from '../api';
import { t } from '../i18n';

type Sample = { at: number; values: Record<string, Record<string, number>> };  // metric -> model -> value
const WINDOW = 150;  // samples: five minutes at two seconds

function parse(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^(xinfer_\w+)\{model="([^"]*)"[^}]*\}\s+([-\d.e+]+)$/.exec(line);
    if (!m) continue;
    (out[m[1]] ??= {})[m[2]] = Number(m[3]);
  }
  return out;
}

function Spark({ points, label }: { points: number[]; label: string }) {
  const max = Math.max(1, ...points);
  const w = 240, h = 48;
  const path = points.map((v, i) => `${i === 0 ? 'M' : 'L'}${(i / Math.max(1, WINDOW - 1)) * w},${h - (v / max) * (h - 4) - 2}`).join(' ');
  return (
    <figure class="spark">
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={label}><path d={path} /></svg>
      <figcaption>{label}: <strong>{points.at(-1) ?? 0}</strong> (max {max})</figcaption>
    </figure>
  );
}

export function MonitorPage() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const res = await fetch('/metrics', { headers: authHeaders() });
        const values = parse(await res.text());
        if (live) setSamples((s) => [...s.slice(-(WINDOW - 1)), { at: Date.now(), values }]);
      } catch (e: any) { if (live) setError(e.message); }
    };
    poll();
    const timer = setInterval(poll, 2000);
    return () => { live = false; clearInterval(timer); };
  }, []);
  const last = samples.at(-1)?.values ?? {};
  const models = Object.keys(last.xinfer_requests_in_flight ?? {}).sort();
  const series = (metric: string, model: string) => samples.map((s) => s.values[metric]?.[model] ?? 0);
  const rate = (metric: string, model: string) => {  // a counter as increments per sample
    const v = series(metric, model);
    return v.map((x, i) => (i === 0 ? 0 : Math.max(0, x - v[i - 1])));
  };
  const perSecond = (metric: string, model: string) =>  // a counter as a rate, per second
    rate(metric, model).map((d, i) => (i === 0 ? 0 : Math.round((d / ((samples[i].at - samples[i - 1].at) / 1000)) * 10) / 10));
  const ttftMs = (model: string) => {  // mean time to first token of the requests of each interval
    const sum = rate('xinfer_time_to_first_token_seconds_sum', model), count = rate('xinfer_time_to_first_token_seconds_count', model);
    return sum.map((s, i) => (count[i] > 0 ? Math.round((s / count[i]) * 1000) : 0));
  };
  return (
    <section>
      <h2>{t('monitor')}</h2>
      {error && <p class="error">{error}</p>}
      {models.length === 0 && <p class="muted">{t('noModels')}</p>}
      {models.map((m) => (
        <div class="panel monitor" data-model={m}>
          <h3>{m}</h3>
          <div class="sparks">
            <Spark points={perSecond('xinfer_requests_total', m)} label={t('requestsPerSecond')} />
            <Spark points={perSecond('xinfer_generated_tokens_total', m)} label={t('tokensRate')} />
            <Spark points={ttftMs(m)} label={t('ttft')} />
            <Spark points={series('xinfer_requests_in_flight', m)} label={t('inFlight')} />
            <Spark points={series('xinfer_requests_queued', m)} label={t('queued')} />
            <Spark points={rate('xinfer_requests_rejected_total', m)} label={t('rejected')} />
          </div>
        </div>
      ))}
    </section>
  );
}
