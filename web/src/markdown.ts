// A small, safe Markdown renderer for model answers: everything is HTML-escaped first, then
// fenced code (highlighted by highlight.js), inline code, headings, lists, quotes, bold, italics
// and http(s) links are recognised. Model output never becomes markup it did not ask for in
// Markdown: no raw HTML, no script, no other URL schemes.
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import cpp from 'highlight.js/lib/languages/cpp';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

for (const [name, lang] of Object.entries({ bash, cpp, go, java, javascript, json, python, rust, sql, typescript, xml, yaml }))
  hljs.registerLanguage(name, lang);
const aliases: Record<string, string> = { sh: 'bash', shell: 'bash', c: 'cpp', 'c++': 'cpp', js: 'javascript', ts: 'typescript',
  py: 'python', html: 'xml', yml: 'yaml', golang: 'go', rs: 'rust' };

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function inline(text: string): string {
  // Code spans first, kept apart so nothing inside them is touched.
  const spans: string[] = [];
  let s = escape(text).replace(/`([^`]+)`/g, (_, code) => { spans.push(`<code>${code}</code>`); return `\u0000${spans.length - 1}\u0000`; });
  s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>')
    .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => spans[Number(i)]);
}

function code(body: string, language: string): string {
  const lang = aliases[language] ?? language;
  const html = lang && hljs.getLanguage(lang) ? hljs.highlight(body, { language: lang, ignoreIllegals: true }).value : escape(body);
  return `<pre class="code"><code class="hljs${lang ? ` language-${escape(lang)}` : ''}">${html}</code></pre>`;
}

export function renderMarkdown(text: string): string {
  const out: string[] = [];
  const lines = text.split('\n');
  let paragraph: string[] = [];
  let list: { ordered: boolean; items: string[] } | null = null;
  const flush = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map(inline).join('<br>')}</p>`);
    paragraph = [];
    if (list) out.push(`<${list.ordered ? 'ol' : 'ul'}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.ordered ? 'ol' : 'ul'}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*```\s*([\w+#.-]*)\s*$/.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      out.push(code(body.join('\n'), fence[1].toLowerCase()));  // an unclosed fence (still streaming) shows as code too
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (heading) { flush(); out.push(`<h${heading[1].length + 2}>${inline(heading[2])}</h${heading[1].length + 2}>`); }
    else if (item) {
      if (paragraph.length) flush();
      const ordered = /\d/.test(item[1]);
      if (!list || list.ordered !== ordered) { flush(); list = { ordered, items: [] }; }
      list.items.push(item[2]);
    } else if (/^>\s?/.test(line)) { flush(); out.push(`<blockquote>${inline(line.replace(/^>\s?/, ''))}</blockquote>`); }
    else if (!line.trim()) flush();
    else { if (list) flush(); paragraph.push(line); }
  }
  flush();
  return out.join('');
}
