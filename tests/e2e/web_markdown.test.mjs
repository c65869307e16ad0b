// The chat panel's Markdown renderer (web/src/markdown.ts), bundled here with the UI's own esbuild:
// model output must never become markup it did not ask for, and code must come out highlighted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const { build } = await import(pathToFileURL(join(WEB, 'node_modules', 'esbuild', 'lib', 'main.js')).href);
const dir = mkdtempSync(join(tmpdir(), 'xinfer-md-'));
await build({ entryPoints: [join(WEB, 'src', 'markdown.ts')], bundle: true, format: 'esm', platform: 'node', outfile: join(dir, 'md.mjs'), logLevel: 'error' });
const { renderMarkdown } = await import(pathToFileURL(join(dir, 'md.mjs')).href);
rmSync(dir, { recursive: true, force: true });

test('raw HTML and script URLs in an answer stay text', () => {
  const html = renderMarkdown('<script>alert(1)</script> <img src=x onerror=alert(1)> [click](javascript:alert(1))');
  assert.ok(!html.includes('<script') && !html.includes('<img'), html);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.ok(!/href="javascript:/.test(html), html);
  assert.match(renderMarkdown('[docs](https://example.com/a)'), /<a href="https:\/\/example.com\/a" target="_blank" rel="noopener noreferrer">docs<\/a>/);
});

test('fenced code is highlighted, inline code and emphasis are marked up, lists and headings too', () => {
  const html = renderMarkdown('# Title\n\nSome **bold** and *italic* and `x < y`.\n\n```python\ndef f(x):\n    return "<b>"\n```\n\n- one\n- two\n\n1. first');
  assert.match(html, /<h3>Title<\/h3>/);
  assert.match(html, /<strong>bold<\/strong> and <em>italic<\/em> and <code>x &lt; y<\/code>/);
  assert.match(html, /<pre class="code"><code class="hljs language-python"><span class="hljs-keyword">def<\/span>/);
  assert.match(html, /&lt;b&gt;/, 'code is escaped too');
  assert.match(html, /<ul><li>one<\/li><li>two<\/li><\/ul><ol><li>first<\/li><\/ol>/);
  // While an answer streams, an unclosed fence already shows as code.
  assert.match(renderMarkdown('```js\nconst a = 1'), /<pre class="code"><code class="hljs language-javascript">/);
});
