// The machine (or every node of a cluster): cores, memory, GPUs, and what each running model holds.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { t } from '../i18n';

export function ClusterPage() {
  const [info, setInfo] = useState<any[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => { api<any[]>('GET', '/v1/cluster/info').then(setInfo).catch((e) => setError(e.message)); }, []);
  const nodes = info?.filter((n) => n.cpu_cores !== undefined) ?? [];
  const leader = info?.find((n) => n.node_type === 'Supervisor')?.placement_leader;
  const cluster = nodes.some((n) => n.node_name);
  return (
    <section>
      <h2>{cluster ? t('clusterNodes') : t('machine')}</h2>
      {error && <p class="error">{error}</p>}
      {nodes.map((node) => (
        <div key={node.node_name ?? 'local'}>
          {cluster && <h3>{node.node_name} <small>{node.advertise}{node.node_name === leader ? ` · ${t('placementLeader')}` : ''}</small></h3>}
          <dl class="facts">
            <dt>{t('cores')}</dt><dd>{node.cpu_cores}</dd>
            <dt>{t('memory')}</dt><dd>{(node.ram_available_mb / 1024).toFixed(1)} / {(node.ram_total_mb / 1024).toFixed(1)} GiB</dd>
            <dt>{t('gpus')}</dt><dd>{node.gpus?.length ? node.gpus.map((g: any) => `${g.index}: ${g.name}`).join(', ') : t('none')}</dd>
          </dl>
          <h3>{t('reservations')}</h3>
          <pre class="json">{JSON.stringify(node.reservations ?? [], null, 2)}</pre>
        </div>
      ))}
    </section>
  );
}
