// Chat with a model: streaming text, a stop button, system prompt, temperature and max tokens,
// token counts and speed.
import { useRef, useState } from 'preact/hooks';
import { streamChat } from '../api';
import { t } from '../i18n';
import { renderMarkdown } from '../markdown';

type Message = { role: 'user' | 'assistant'; content: string };

export function ChatPanel({ uid }: { uid: string }) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [input, setInput] = useState('');
  const [system, setSystem] = useState('');
  const [temperature, setTemperature] = useState(0.7);
  const [maxTokens, setMaxTokens] = useState(256);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [stats, setStats] = useState('');
  const abort = useRef<AbortController | null>(null);

  async function send() {
    if (!input.trim() || busy) return;
    const history: Message[] = [...messages, { role: 'user', content: input }];
    setMessages([...history, { role: 'assistant', content: '' }]);
    setInput('');
    setError('');
    setBusy(true);
    abort.current = new AbortController();
    const began = performance.now();
    let pieces = 0, text = '';
    try {
      const usage = await streamChat({
        model: uid, temperature, max_tokens: maxTokens,
        messages: [...(system ? [{ role: 'system', content: system }] : []), ...history],
      }, (piece) => {
        pieces++;
        text += piece;
        setMessages([...history, { role: 'assistant', content: text }]);
      }, abort.current.signal);
      const tokens = usage?.completion_tokens ?? pieces;
      const seconds = (performance.now() - began) / 1000;
      setStats(`${tokens} ${t('tokens')}, ${(tokens / seconds).toFixed(1)} ${t('tokensPerSecond')}`);
    } catch (e: any) {
      if (e.name !== 'AbortError') setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="chat">
      <div class="form row">
        <label>{t('systemPrompt')}<input value={system} onInput={(e) => setSystem((e.target as HTMLInputElement).value)} /></label>
        <label>{t('temperature')}<input type="number" step="0.1" min="0" max="2" value={temperature} onInput={(e) => setTemperature(Number((e.target as HTMLInputElement).value))} /></label>
        <label>{t('maxTokens')}<input type="number" min="1" value={maxTokens} onInput={(e) => setMaxTokens(Number((e.target as HTMLInputElement).value))} /></label>
      </div>
      <div class="messages">
        {messages.map((m) => m.role === 'user'
          ? <div class="message user"><pre>{m.content}</pre></div>
          // Rendered by a renderer that escapes everything first (markdown.ts): no raw HTML gets through.
          : <div class="message assistant markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(m.content) }} />)}
      </div>
      {error && <p class="error">{error}</p>}
      {stats && <p class="muted stats">{stats}</p>}
      <div class="composer">
        <textarea rows={2} placeholder={t('typeMessage')} value={input} onInput={(e) => setInput((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); } }} />
        {busy ? <button class="danger" onClick={() => abort.current?.abort()}>{t('stop')}</button>
          : <button class="primary" onClick={send}>{t('send')}</button>}
        <button class="ghost" onClick={() => { setMessages([]); setStats(''); }}>{t('clear')}</button>
      </div>
    </div>
  );
}
