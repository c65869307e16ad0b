// The machine: cores, memory, GPUs, and what each running model holds.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { t } from '../i18n';

export function ClusterPage() {
  const [info, setInfo] = useState<any[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => { api<any[]>('GET', '/v1/cluster/info').then(setInfo).catch((e) => setError(e.message)); }, []);
  const node = info?.find((n) => n.cpu_cores !== undefined);
  return (
    <section>
      <h2>{t('machine')}</h2>
      {error && <p class="error">{error}</p>}
      {node && (
        <>
          <dl class="facts">
            <dt>{t('cores')}</dt><dd>{node.cpu_cores}</dd>
            <dt>{t('memory')}</dt><dd>{(node.ram_available_mb / 1024).toFixed(1)} / {(node.ram_total_mb / 1024).toFixed(1)} GiB</dd>
            <dt>{t('gpus')}</dt><dd>{node.gpus?.length ? node.gpus.map((g: any) => `${g.index}: ${g.name}`).join(', ') : t('none')}</dd>
          </dl>
          <h3>{t('reservations')}</h3>
          <pre class="json">{JSON.stringify(node.reservations ?? [], null, 2)}</pre>
        </>
      )}
    </section>
  );
}
