// The public REST API, nothing else. Errors carry the API's own words (OpenAI error shape).
// With authentication on, the credential (a login token or an API key) rides on every request;
// a 401 sends the page back to the login form.
export const credential = () => localStorage.getItem('xinfer.credential') ?? '';
export function setCredential(value: string) {
  if (value) localStorage.setItem('xinfer.credential', value);
  else localStorage.removeItem('xinfer.credential');
}
export const authHeaders = (): Record<string, string> => (credential() ? { Authorization: `Bearer ${credential()}` } : {});
function check401(res: Response) {
  if (res.status === 401) dispatchEvent(new Event('xinfer-login-required'));
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method, headers: { ...authHeaders(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  check401(res);
  const text = await res.text();
  let json: any = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw new Error(json?.error?.message ?? json?.detail ?? `${res.status} ${text.slice(0, 200)}`);
  return json as T;
}

export async function apiForm<T = any>(path: string, form: FormData): Promise<T> {
  const res = await fetch(path, { method: 'POST', body: form, headers: authHeaders() });
  check401(res);
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (!res.ok) throw new Error(json?.error?.message ?? json?.detail ?? `${res.status} ${text.slice(0, 200)}`);
  return json as T;
}

// Streams a chat completion: calls onDelta for each piece of text; resolves with the usage when
// the server reports it. `signal` stops it (the stop button).
export async function streamChat(body: object, onDelta: (text: string) => void, signal: AbortSignal) {
  const res = await fetch('/v1/chat/completions', {
    method: 'POST', headers: { ...authHeaders(), 'Content-Type': 'application/json' }, signal,
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  check401(res);
  if (!res.ok || !res.body) {
    const text = await res.text();
    let json: any = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    throw new Error(json?.error?.message ?? json?.detail ?? `${res.status}`);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let usage: any = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') return usage;
      const chunk = JSON.parse(data);
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices?.[0]?.delta;
      const piece = (delta?.reasoning_content ?? '') + (delta?.content ?? '');
      if (piece) onDelta(piece);
    }
  }
  return usage;
}

export type ModelType = 'LLM' | 'embedding' | 'rerank' | 'audio';
