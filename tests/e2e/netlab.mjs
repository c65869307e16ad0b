// Several "machines" on one: Linux network namespaces joined by a bridge, each with its own
// address, so a cluster test runs real etcd members and xinfer nodes that reach each other only
// over the (simulated) network, and a link can be cut. Needs root (CAP_NET_ADMIN) and `ip`.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sh = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const ip = (...args) => sh('ip', args);

// Why namespaces cannot be used here, or null when they can.
export function netnsUnavailable() {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  const probe = `xlprobe${process.pid % 100000}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
  } catch (e) {
    return `network namespaces are not allowed here (${String(e.stderr ?? e.message).trim()})`;
  }
  return null;
}

export class NetLab {
  // `count` machines, 10.<net>.0.1 .. 10.<net>.0.count; this process reaches them as 10.<net>.0.254.
  constructor(count, { net = 213 } = {}) {
    this.count = count;
    this.tag = `xl${process.pid % 100000}`;
    this.subnet = `10.${net}.0`;
    this.dir = mkdtempSync(join(tmpdir(), 'xinfer-netlab-'));
    this.procs = new Set();
  }

  ns(k) { return `${this.tag}n${k}`; }
  addr(k) { return `${this.subnet}.${k}`; }

  setup() {
    // Leftovers of an earlier run that died (same subnet): remove them first.
    for (const line of ip('-o', 'link', 'show').split('\n')) {
      const m = line.match(/^\d+: (xl\d+r)[@:]/);
      if (m) try { ip('link', 'del', m[1]); } catch {}
    }
    for (const line of ip('netns', 'list').split('\n')) {
      const name = line.split(' ')[0];
      if (/^xl\d+(hub|n\d+)$/.test(name)) try { ip('netns', 'del', name); } catch {}
    }
    const hub = `${this.tag}hub`;
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'set', 'lo', 'up');
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    for (let k = 1; k <= this.count; k++) {
      ip('netns', 'add', this.ns(k));
      ip('-n', this.ns(k), 'link', 'set', 'lo', 'up');
      ip('-n', hub, 'link', 'add', `h${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns(k));
      ip('-n', hub, 'link', 'set', `h${k}`, 'master', 'br0', 'up');
      ip('-n', this.ns(k), 'addr', 'add', `${this.addr(k)}/24`, 'dev', 'eth0');
      ip('-n', this.ns(k), 'link', 'set', 'eth0', 'up');
    }
    const root = `${this.tag}r`;
    ip('link', 'add', root, 'type', 'veth', 'peer', 'name', 'hr', 'netns', hub);
    ip('-n', hub, 'link', 'set', 'hr', 'master', 'br0', 'up');
    ip('addr', 'add', `${this.subnet}.254/24`, 'dev', root);
    ip('link', 'set', root, 'up');
  }

  // Cuts machine k off the network (its processes keep running), and heals it.
  cut(k) { ip('-n', this.ns(k), 'link', 'set', 'eth0', 'down'); }
  heal(k) { ip('-n', this.ns(k), 'link', 'set', 'eth0', 'up'); }

  // Runs a program on machine k; its output goes to <dir>/<name>.log.
  spawn(k, name, argv, env = {}) {
    const log = join(this.dir, `${name}.log`);
    const proc = spawn('ip', ['netns', 'exec', this.ns(k), ...argv], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout.on('data', (d) => appendFileSync(log, d));
    proc.stderr.on('data', (d) => appendFileSync(log, d));
    proc.exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    proc.log = log;
    this.procs.add(proc);
    proc.on('exit', () => this.procs.delete(proc));
    return proc;
  }

  // Runs a command on machine k and returns its output.
  exec(k, argv) { return sh('ip', ['netns', 'exec', this.ns(k), ...argv]); }

  async teardown({ keepLogs = false } = {}) {
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all([...this.procs].map((p) => p.exited));
    try { ip('link', 'del', `${this.tag}r`); } catch {}
    for (let k = 1; k <= this.count; k++) try { ip('netns', 'del', this.ns(k)); } catch {}
    try { ip('netns', 'del', `${this.tag}hub`); } catch {}
    if (!keepLogs) rmSync(this.dir, { recursive: true, force: true });
  }
}

// A 3-member (or n-member) etcd cluster on the given machines; resolves once every member is healthy.
export async function startEtcd(lab, machines) {
  const members = machines.map((k) => startEtcdMember(lab, machines, k));
  for (const m of members) await waitFor(async () => (await fetch(`${m.url}/health`)).ok, 30000, `etcd member ${m.k}`);
  return members;
}

// One member (again, after it was killed: its data folder lets it rejoin).
export function startEtcdMember(lab, machines, k) {
  const initial = machines.map((j) => `e${j}=http://${lab.addr(j)}:2380`).join(',');
  const proc = lab.spawn(k, `etcd${k}-${Date.now()}`, ['etcd', '--name', `e${k}`, '--data-dir', join(lab.dir, `etcd${k}`),
      '--listen-client-urls', `http://${lab.addr(k)}:2379`, '--advertise-client-urls', `http://${lab.addr(k)}:2379`,
      '--listen-peer-urls', `http://${lab.addr(k)}:2380`, '--initial-advertise-peer-urls', `http://${lab.addr(k)}:2380`,
      '--initial-cluster', initial, '--initial-cluster-state', 'new',
      '--heartbeat-interval', '100', '--election-timeout', '1000']);
  return { k, proc, url: `http://${lab.addr(k)}:2379` };
}

export async function waitFor(check, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}
