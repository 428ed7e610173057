// What React's useStream does with @langchain/langgraph-sdk, against a live server.
// Usage: node use_stream_scenario.mjs <api url>; exits non-zero (with a message) on any mismatch.
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";

const client = new Client({ apiUrl: process.argv[2] });
const say = (text) => ({ messages: [{ role: "user", content: text }] });
const lastText = (values) => values.messages[values.messages.length - 1].content;

async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

// 1. submit: a resumable stream; onRunCreated reports the run (useStream keeps it for rejoining).
const thread = await client.threads.create();
let created;
const live = await collect(
  client.runs.stream(thread.thread_id, "agent", {
    input: say("My name is Ada"),
    streamMode: ["values", "messages-tuple", "updates"],
    streamResumable: true,
    onRunCreated: (params) => { created = params; },
  }),
);
assert.ok(created?.run_id, "onRunCreated gave a run id");
assert.equal(created.thread_id, thread.thread_id);
assert.equal(live[0].event, "metadata");
assert.ok(live.some((p) => p.event === "messages"), "messages-tuple events");
const values = live.filter((p) => p.event === "values").at(-1).data;
assert.match(lastText(values), /Ada/);

// 2. joinStream with "-1": the whole finished run again, from the start.
const replay = await collect(client.runs.joinStream(thread.thread_id, created.run_id, { lastEventId: "-1" }));
assert.deepEqual(replay.map((p) => p.event), live.map((p) => p.event));

// 3. history, then branch from the checkpoint after the first turn.
await client.runs.wait(thread.thread_id, "agent", { input: say("My name is Bob") });
const history = await client.threads.getHistory(thread.thread_id, { limit: 100 });
const afterFirst = history.find((s) => s.values.messages?.length === 2 && s.next.length === 0);
assert.ok(afterFirst, "a checkpoint after the first turn");
const branched = await collect(
  client.runs.stream(thread.thread_id, "agent", {
    input: say("What is my name?"),
    checkpoint: afterFirst.checkpoint,
    streamMode: ["values"],
  }),
);
assert.equal(lastText(branched.filter((p) => p.event === "values").at(-1).data), "Your name is Ada.");

// 4. interrupt, then command.resume.
const other = await client.threads.create();
await collect(
  client.runs.stream(other.thread_id, "agent", {
    input: say("what is 12*7?"),
    context: { require_plan_approval: true },
    streamMode: ["values"],
  }),
);
const paused = await client.threads.getState(other.thread_id);
assert.deepEqual(paused.next, ["review_plan"]);
assert.ok(paused.tasks.some((t) => t.interrupts.length > 0), "a pending interrupt");
const resumed = await collect(
  client.runs.stream(other.thread_id, "agent", {
    command: { resume: "approve" },
    context: { require_plan_approval: true },
    streamMode: ["values"],
  }),
);
assert.match(lastText(resumed.filter((p) => p.event === "values").at(-1).data), /84/);
assert.equal((await client.threads.get(other.thread_id)).status, "idle");

console.log(JSON.stringify({ ok: true, live: live.length, replay: replay.length, history: history.length }));
