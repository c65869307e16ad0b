// Chat and completions through xinfer with the official openai client: a tiny random-weight
// model, so the text is gibberish, but tokens, usage, limits, streaming and schemas are real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { startServer, launch, api, engineBusy, CHAT_MODEL } from './helpers.mjs';

let server, client;

before(async () => {
  server = await startServer();
  await launch(server, { model_name: 'tiny-chat', model_type: 'LLM', model_path: CHAT_MODEL });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'not-needed' });
});
after(async () => server?.stop());

test('non-streaming chat returns a message with usage and respects max_tokens', async () => {
  const r = await client.chat.completions.create({
    model: 'tiny-chat',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello in French.' }],
    max_tokens: 7,
    temperature: 0,
    ignore_eos: true,  // llama.cpp's switch: generation runs to max_tokens, so the limit is what ends it
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.usage.prompt_tokens > 10, `prompt tokens ${r.usage.prompt_tokens}`);
  assert.equal(r.usage.completion_tokens, 7);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(r.choices[0].finish_reason, 'length');
});

test('streaming chat arrives as chunks and ends with [DONE]', async () => {
  const stream = await client.chat.completions.create({
    model: 'tiny-chat',
    messages: [{ role: 'user', content: 'Count to ten.' }],
    max_tokens: 12,
    stream: true,
    stream_options: { include_usage: true },
  });
  let chunks = 0, text = '', usage = null, finish = null;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    for (const ch of c.choices ?? []) {
      text += ch.delta?.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.ok(chunks >= 3, `only ${chunks} chunks`);
  assert.ok(finish, 'a finish_reason arrives');
  assert.ok(usage && usage.completion_tokens <= 12);

  // The raw stream ends with the [DONE] sentinel, as OpenAI's does.
  const raw = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true }),
  });
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-type'), /text\/event-stream/);
  const body = await raw.text();
  assert.ok(body.trimEnd().endsWith('data: [DONE]'), body.slice(-200));
  assert.ok(body.split('\n\n').filter((e) => e.startsWith('data: {')).length >= 2);
});

test('streaming is real: the first chunk arrives while the engine is still generating', async () => {
  // A proxy that buffered the answer would deliver the first chunk only after the engine finished.
  const d = (await api(server, 'GET', '/v1/models/tiny-chat')).json;
  const address = d.replicas[0].address;
  const stream = await client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'go' }],
    max_tokens: 3000, ignore_eos: true, stream: true });
  let busyAtFirstChunk = null;
  for await (const c of stream) {
    if (c.choices?.[0]?.delta?.content && busyAtFirstChunk === null) {
      busyAtFirstChunk = await engineBusy(address);
      stream.controller.abort();  // enough: stop the engine's work too
      break;
    }
  }
  assert.equal(busyAtFirstChunk, true, 'the engine was still generating when the first token reached the client');
});

test('same seed and temperature give the same text; completions endpoint works', async () => {
  const ask = () => client.completions.create({ model: 'tiny-chat', prompt: 'Once upon a time', max_tokens: 10, seed: 7, temperature: 0.9 });
  const [a, b] = [await ask(), await ask()];
  assert.equal(a.object, 'text_completion');
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.ok(a.usage.completion_tokens <= 10);
});

test('stop sequences end generation before them', async () => {
  // Find what the model says first, then ask it to stop at that text.
  const probe = await client.completions.create({ model: 'tiny-chat', prompt: 'abc', max_tokens: 8, temperature: 0, ignore_eos: true });
  const text = probe.choices[0].text;
  const stopAt = text.trim().slice(0, 3);
  assert.ok(stopAt, `the probe produced text to stop on: "${text}"`);
  const r = await client.completions.create({ model: 'tiny-chat', prompt: 'abc', max_tokens: 8, temperature: 0, ignore_eos: true,
    stop: [stopAt] });
  assert.ok(!r.choices[0].text.includes(stopAt), `"${r.choices[0].text}" contains stop "${stopAt}"`);
  assert.equal(r.choices[0].finish_reason, 'stop');
});

test('response_format json_schema constrains the output to the schema', async () => {
  const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
  const r = await client.chat.completions.create({
    model: 'tiny-chat',
    messages: [{ role: 'user', content: 'Is the sky blue? Answer in JSON.' }],
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } },
    max_tokens: 40,
    temperature: 0,
  });
  const parsed = JSON.parse(r.choices[0].message.content);
  assert.deepEqual(Object.keys(parsed), ['ok']);
  assert.equal(typeof parsed.ok, 'boolean');
});

test('tools: definitions reach the model through its chat template', async () => {
  // A random-weight model cannot be relied on to choose a call, so check what is deterministic:
  // the request is accepted and the tool schema is rendered into the prompt by the template.
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const plain = await client.chat.completions.create({ model: 'tiny-chat', messages, max_tokens: 2 });
  const withTools = await client.chat.completions.create({ model: 'tiny-chat', messages, tools, max_tokens: 2 });
  assert.equal(withTools.object, 'chat.completion');
  assert.ok(withTools.usage.prompt_tokens > plain.usage.prompt_tokens + 20,
    `tools add prompt tokens: ${plain.usage.prompt_tokens} -> ${withTools.usage.prompt_tokens}`);
});

test('the model answers by uid and by name through GET /v1/models', async () => {
  const models = await client.models.list();
  const ids = [];
  for await (const m of models) ids.push(m.id);
  assert.ok(ids.includes('tiny-chat'));
  const r = await api(server, 'GET', '/v1/models/tiny-chat');
  assert.equal(r.status, 200);
  assert.equal(r.json.model_type, 'LLM');
  assert.equal(r.json.status, 'ready');
});

// /metrics counts what the service answered: requests, generated tokens (a streamed answer's token
// events, a whole answer's usage) and the time to a stream's first token.
test('/metrics counts requests, generated tokens and time to first token per model', async () => {
  const read = async () => {
    const text = (await api(server, 'GET', '/metrics')).text;
    const value = (name) => Number(new RegExp(`^${name}\\{model="tiny-chat",type="LLM"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { requests: value('xinfer_requests_total'), tokens: value('xinfer_generated_tokens_total'),
      ttftCount: value('xinfer_time_to_first_token_seconds_count'), ttftSum: value('xinfer_time_to_first_token_seconds_sum') };
  };
  const before = await read();
  let pieces = 0;
  const stream = await client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'count' }],
    max_tokens: 12, stream: true });
  for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) pieces++;
  const whole = await client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'count' }], max_tokens: 7 });
  const after = await read();
  assert.equal(after.requests - before.requests, 2);
  assert.equal(after.tokens - before.tokens, pieces + whole.usage.completion_tokens);
  assert.equal(after.ttftCount - before.ttftCount, 1);
  assert.ok(after.ttftSum > before.ttftSum);
});

// Linux 6.12 brought custom time slices (sched_setattr's sched_runtime for ordinary threads);
// before it the engine's setting does nothing, and /proc/PID/sched exists with scheduler debugging.
const hasCustomSlices = (() => {
  const [major, minor] = release().split('.').map(Number);
  return (major > 6 || (major === 6 && minor >= 12)) && existsSync('/proc/self/sched');
})();
const threadSlices = (pid) => readdirSync(`/proc/${pid}/task`).map((tid) => ({
  tid: Number(tid),
  slice: Number(/^se\.slice\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'))?.[1]),
}));
const enginePid = async (uid) => (await api(server, 'GET', `/v1/models/${uid}`)).json.replicas[0].pid;

test('the chat engine decodes with a longer time slice than its HTTP threads; a launch\'s envs can turn it off',
  { skip: !hasCustomSlices && 'this kernel has no custom time slices' }, async () => {
    // The decoding thread starts its compute threads at the model's first decode (the warm-up).
    await client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    const pid = await enginePid('tiny-chat');
    const all = threadSlices(pid);
    const long = all.filter((t) => t.slice === 10_000_000);
    assert.ok(long.some((t) => t.tid === pid), `the decoding thread has the 10 ms slice: ${JSON.stringify(all)}`);
    const threads = Number(/--threads\0(\d+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'latin1'))[1]);
    assert.ok(long.length >= threads, `its ${threads - 1} compute threads have it too: ${JSON.stringify(all)}`);
    assert.ok(all.filter((t) => t.slice < 10_000_000).length >= 4, `the HTTP threads keep the default: ${JSON.stringify(all)}`);

    await launch(server, { model_name: 'tiny-chat-plain', model_type: 'LLM', model_path: CHAT_MODEL, envs: { LLAMA_COMPUTE_SLICE_US: '' } });
    try {
      const plain = threadSlices(await enginePid('tiny-chat-plain'));
      assert.ok(plain.every((t) => t.slice < 10_000_000), `no thread has the long slice: ${JSON.stringify(plain)}`);
    } finally {
      await api(server, 'DELETE', '/v1/models/tiny-chat-plain');
    }
  });

// Context switches of one thread (voluntary and not).
const taskSwitches = (pid, tid) => {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)[1]) + Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(status)[1]);
};
// Context switches of an engine's llama-server task-queue thread (named by the llama patch
// queue-without-yield).
const queueThreadSwitches = (pid) => {
  const tid = readdirSync(`/proc/${pid}/task`).find((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'llama-queue');
  assert.ok(tid, `engine ${pid} has a llama-queue thread`);
  return taskSwitches(pid, tid);
};
const streamTokens = async (model, tokens) => {
  const stream = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: tokens, stream: true, ignore_eos: true,
  });
  for await (const _ of stream);  // eslint-disable-line no-unused-vars
};

test('the chat engine decodes without waking its task-queue thread for every token; a launch\'s envs can bring that back', async () => {
  const pid = await enginePid('tiny-chat');
  const before = queueThreadSwitches(pid);
  await streamTokens('tiny-chat', 32);
  const slept = queueThreadSwitches(pid) - before;
  assert.ok(slept <= 2, `the queue thread slept through 32 decodes: ${slept} switches`);

  // llama-server's own way: the queue thread takes over around every decode.
  await launch(server, { model_name: 'tiny-chat-yield', model_type: 'LLM', model_path: CHAT_MODEL, envs: { LLAMA_YIELD_TO_QUEUE: '' } });
  try {
    const upstream = await enginePid('tiny-chat-yield');
    const start = queueThreadSwitches(upstream);
    await streamTokens('tiny-chat-yield', 32);
    const woke = queueThreadSwitches(upstream) - start;
    assert.ok(woke >= 32, `upstream, it wakes for each decode: ${woke} switches`);
  } finally {
    await api(server, 'DELETE', '/v1/models/tiny-chat-yield');
  }
});

// Context switches of each thread of a process, by thread id.
const threadSwitches = (pid) => new Map(readdirSync(`/proc/${pid}/task`).map((tid) => {
  try { return [tid, taskSwitches(pid, tid)]; } catch { return [tid, 0]; }  // it just ended
}));

// One slot streams 512 tokens while six more requests wait in the engine's queue, each on an HTTP
// thread of its own; returns how many engine threads woke for at least half of the tokens
// meanwhile, and how many threads compute (the decoding thread and its compute threads).
// (llama-server's log thread wakes for the 7 lines each request logs, and for its lock: 57-118
// times for these seven requests on a loaded machine, so it stays under the bar.)
const threadsWokenByOneStream = async (model) => {
  const pid = await enginePid(model);
  const computing = Number(/--threads\0(\d+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'latin1'))[1]);
  const before = threadSwitches(pid);
  const stream = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: 512, stream: true, ignore_eos: true,
  });
  const tokens = stream[Symbol.asyncIterator]();
  await tokens.next();  // the slot is taken: the next requests wait for it
  const waiting = Array.from({ length: 6 }, () =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }));
  let pieces = 1;
  while (!(await tokens.next()).done) pieces++;
  await Promise.all(waiting);
  const after = threadSwitches(pid);
  const woken = [...after].filter(([tid, n]) => n - (before.get(tid) ?? 0) >= pieces / 2).length;
  return { woken, computing, pieces };
};

test('a token wakes only the engine thread that streams it, not every request waiting; a launch\'s envs can bring that back', async () => {
  await launch(server, { model_name: 'tiny-chat-one-slot', model_type: 'LLM', model_path: CHAT_MODEL, n_parallel: 1 });
  await launch(server, {
    model_name: 'tiny-chat-wake-all', model_type: 'LLM', model_path: CHAT_MODEL, n_parallel: 1, envs: { LLAMA_WAKE_ALL_WAITERS: '' },
  });
  try {
    // The computing threads and the stream's own HTTP thread wake for its tokens; the six
    // threads of the waiting requests sleep until their turn.
    const own = await threadsWokenByOneStream('tiny-chat-one-slot');
    assert.ok(own.woken <= own.computing + 1, `threads woken for half the pieces or more in a ${own.pieces}-piece stream: ${JSON.stringify(own)}`);
    // llama-server's own way: every result wakes every waiting thread.
    const all = await threadsWokenByOneStream('tiny-chat-wake-all');
    assert.ok(all.woken >= all.computing + 4, `upstream, the waiting requests' threads wake too: ${JSON.stringify(all)}`);
  } finally {
    await api(server, 'DELETE', '/v1/models/tiny-chat-one-slot');
    await api(server, 'DELETE', '/v1/models/tiny-chat-wake-all');
  }
});
