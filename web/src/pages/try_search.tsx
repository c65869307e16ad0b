// Embeddings (several texts and their cosine similarity matrix) and rerank (a query and
// documents, ranked with scores).
import { useState } from 'preact/hooks';
import { api } from '../api';
import { t } from '../i18n';

const cosine = (a: number[], b: number[]) => {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
};

export function EmbedPanel({ uid }: { uid: string }) {
  const [texts, setTexts] = useState('The cat sits on the mat.\nA kitten rests on a rug.\n今天天气很好。');
  const [matrix, setMatrix] = useState<number[][] | null>(null);
  const [error, setError] = useState('');
  const lines = texts.split('\n').map((s) => s.trim()).filter(Boolean);
  async function embed() {
    setError('');
    try {
      const r = await api<any>('POST', '/v1/embeddings', { model: uid, input: lines });
      const v = r.data.map((d: any) => d.embedding);
      setMatrix(v.map((a: number[]) => v.map((b: number[]) => cosine(a, b))));
    } catch (e: any) { setError(e.message); }
  }
  return (
    <div>
      <label>{t('texts')}<textarea rows={4} value={texts} onInput={(e) => setTexts((e.target as HTMLTextAreaElement).value)} /></label>
      <button class="primary" onClick={embed}>{t('embed')}</button>
      {error && <p class="error">{error}</p>}
      {matrix && (
        <table class="matrix">
          <caption>{t('similarity')}</caption>
          <tbody>{matrix.map((row, i) => <tr><th>{i + 1}</th>{row.map((x) => <td style={{ '--v': String(Math.max(0, x)) } as any}>{x.toFixed(3)}</td>)}</tr>)}</tbody>
        </table>
      )}
    </div>
  );
}

export function RerankPanel({ uid }: { uid: string }) {
  const [query, setQuery] = useState('What is the capital of France?');
  const [docs, setDocs] = useState('Paris is the capital of France.\nBananas are yellow.\n巴黎是法国的首都。');
  const [results, setResults] = useState<any[] | null>(null);
  const [error, setError] = useState('');
  const lines = docs.split('\n').map((s) => s.trim()).filter(Boolean);
  async function rank() {
    setError('');
    try {
      const r = await api<any>('POST', '/v1/rerank', { model: uid, query, documents: lines, return_documents: true });
      setResults(r.results);
    } catch (e: any) { setError(e.message); }
  }
  return (
    <div>
      <label>{t('query')}<input value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} /></label>
      <label>{t('documents')}<textarea rows={4} value={docs} onInput={(e) => setDocs((e.target as HTMLTextAreaElement).value)} /></label>
      <button class="primary" onClick={rank}>{t('rank')}</button>
      {error && <p class="error">{error}</p>}
      {results && (
        <ol class="ranked">{results.map((r) => <li><span class="score">{r.relevance_score.toFixed(4)}</span> {r.document?.text ?? lines[r.index]}</li>)}</ol>
      )}
    </div>
  );
}
