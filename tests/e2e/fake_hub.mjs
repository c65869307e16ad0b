// A local model hub for the download tests: speaks the Hugging Face and ModelScope file APIs as
// xinfer's download code uses them (the real URLs, headers, redirects and Range answers), serves
// the project's tiny models, logs every request, and misbehaves on demand (a cut connection, a
// corrupted byte, 429 with Retry-After, a 500, a stall, a gated repository).
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

export async function startFakeHub(repos) {
  // repos: { 'org/name': { files: { path: Buffer }, gated: bool } }
  const blobs = new Map();  // sha256 -> Buffer
  const listing = {};
  for (const [repo, r] of Object.entries(repos)) {
    listing[repo] = Object.entries(r.files).map(([path, data]) => {
      const sha = createHash('sha256').update(data).digest('hex');
      blobs.set(sha, data);
      return { path, size: data.length, sha256: sha };
    });
  }
  const hub = {
    log: [],         // {method, url, range, auth}
    faults: [],      // queued, each used once by the next file transfer: {kind: 'cut'|'corrupt'|'429'|'500'|'stall', ...}
    stallForever: false,
  };
  const gated = (repo, req) => repos[repo]?.gated && req.headers.authorization !== 'Bearer hf_test_token';

  function sendFile(req, res, data, extraHeaders = {}) {
    // Faults hit file transfers (whole, or resumed from an offset), not the short ranged reads
    // of a file's first MiBs that a launch makes to read a GGUF header.
    const transfer = !/^bytes=\d+-\d+$/.test(req.headers.range ?? '');
    const fault = transfer ? hub.faults.shift() : undefined;
    if (fault?.kind === '429') {
      res.writeHead(429, { 'Retry-After': String(fault.retryAfter ?? 1) });
      return res.end('slow down');
    }
    if (fault?.kind === '500') {
      res.writeHead(500);
      return res.end('internal error');
    }
    let start = 0;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let end = data.length - 1;
    if (m) {
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]));
      if (start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
        return res.end();
      }
    }
    let body = data.subarray(start, end + 1);
    if (fault?.kind === 'corrupt') {
      body = Buffer.from(body);
      body[Math.floor(body.length / 2)] ^= 0xff;
    }
    const headers = { 'Content-Length': body.length, 'Accept-Ranges': 'bytes', ...extraHeaders };
    if (m) headers['Content-Range'] = `bytes ${start}-${end}/${data.length}`;
    res.writeHead(m ? 206 : 200, headers);
    if (req.method === 'HEAD') return res.end();
    if (fault?.kind === 'cut') {  // half the body, then the connection breaks
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      return setTimeout(() => res.socket.destroy(), 50);
    }
    if (fault?.kind === 'stall' || (hub.stallForever && transfer)) {  // a little, then nothing at all
      res.write(body.subarray(0, 1024));
      return;
    }
    res.end(body);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    hub.log.push({ method: req.method, url: req.url, range: req.headers.range ?? null, auth: req.headers.authorization ?? null });
    let m;
    // Hugging Face
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname))) {
      const repo = decodeURIComponent(m[1]);
      if (!listing[repo]) return json(res, 404, { error: 'Repository not found' });
      if (gated(repo, req)) return json(res, 401, { error: `Access to model ${repo} is restricted. You must be authenticated to access it.` });
      return json(res, 200, { id: repo, sha: COMMIT, siblings: listing[repo].map((f) => ({ rfilename: f.path })) });
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname))) {
      const repo = decodeURIComponent(m[1]);
      if (!listing[repo] || m[2] !== COMMIT) return json(res, 404, { error: 'Revision not found' });
      if (gated(repo, req)) return json(res, 401, { error: 'restricted' });
      return json(res, 200, listing[repo].map((f) => ({ type: 'file', oid: f.sha256.slice(0, 40), size: f.size, path: f.path,
        lfs: { oid: f.sha256, size: f.size, pointerSize: 134 } })));
    }
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname))) {
      const repo = decodeURIComponent(m[1]);
      const f = listing[repo]?.find((x) => x.path === decodeURIComponent(m[3]));
      if (!f) return json(res, 404, { error: 'Entry not found' });
      if (gated(repo, req)) return json(res, 401, { error: 'restricted' });
      // As the real hub: a redirect to the CDN, with the commit and the LFS hash and size.
      res.writeHead(302, { Location: `/cdn/${f.sha256}`, 'X-Repo-Commit': COMMIT, 'X-Linked-Etag': `"${f.sha256}"`, 'X-Linked-Size': String(f.size) });
      return res.end();
    }
    if ((m = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname))) {
      const data = blobs.get(m[1]);
      if (!data) return json(res, 404, { error: 'gone' });
      return sendFile(req, res, data);
    }
    // ModelScope
    if ((m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo\/files$/.exec(url.pathname))) {
      const repo = decodeURIComponent(m[1]);
      if (!listing[repo]) return json(res, 404, { Code: 10010101, Message: 'model not found' });
      return json(res, 200, { Code: 200, Success: true, Data: { Files: listing[repo].map((f) => ({
        Name: f.path.split('/').at(-1), Path: f.path, Size: f.size, Sha256: f.sha256, Type: 'blob', Revision: COMMIT })) } });
    }
    if ((m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo$/.exec(url.pathname))) {
      const repo = decodeURIComponent(m[1]);
      const f = listing[repo]?.find((x) => x.path === url.searchParams.get('FilePath'));
      if (!f) return json(res, 404, { Code: 10010101, Message: 'file not found' });
      return sendFile(req, res, blobs.get(f.sha256));
    }
    json(res, 404, { error: 'no such route' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  hub.url = `http://127.0.0.1:${server.address().port}`;
  hub.commit = COMMIT;
  // File transfers: whole files, or resumed ones ("bytes=N-"), not header reads ("bytes=0-M").
  hub.fileRequests = () => hub.log.filter((e) => (e.url.startsWith('/cdn/') || e.url.includes('FilePath=')) && !/^bytes=\d+-\d+$/.test(e.range ?? ''));
  hub.stop = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
  return hub;
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
