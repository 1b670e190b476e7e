/**
 * `npm run fuzz [-- --messages N --seed S]`: N (default 100,000) random and malformed messages against a
 * running system (`tide edge` and `tide cloud` processes): the edge's NATS ingest subjects, an MQTT
 * device's topic (junk payloads) and topics it may not use (good readings), the cloud's joint-inference
 * subject, and every edge and cloud HTTP route (the read-only ones, the dashboard's event stream
 * included, with junk queries, methods and bodies). Passes when
 * every message got a clear rejection, every bad reading is in the DLQ with its reason, no reading was
 * stored, no projection changed and no process died. Prints the counts as JSON.
 */
import { parseFlags } from "./flags.ts";
import { sendReading } from "../test/edge-support.ts";
import { givenFaultSystem } from "../test/faults/system.ts";
import { checkAfterFuzz } from "../test/fuzz/check.ts";
import { runFuzz, snapshotForFuzz } from "../test/fuzz/drive.ts";

const { values } = parseFlags({ options: { messages: { type: "string", default: "100000" }, seed: { type: "string", default: "tide-fuzz" } } });
const total = Number(values.messages);
if (!Number.isInteger(total) || total < 100) {
  process.stderr.write("--messages must be a whole number >= 100\n");
  process.exit(2);
}
// The mix: mostly device readings (the ingress that sees the most traffic), then HTTP, MQTT (payloads and
// topics) and joint inference.
const plan = {
  ingestMqtt: Math.round(total * 0.04),
  mqttTopics: Math.round(total * 0.01),
  offload: Math.round(total * 0.05),
  http: Math.round(total * 0.07),
  httpRead: Math.round(total * 0.03),
};
const ingestNats = total - plan.ingestMqtt - plan.mqttTopics - plan.offload - plan.http - plan.httpRead;

const system = await givenFaultSystem({ edges: ["1"] });
try {
  const nc = await system.connect("1");
  for (let i = 0; i < 20; i++) await sendReading(nc, "1", `real-${i % 4}`, 20 + i / 10);
  await new Promise((r) => setTimeout(r, 3000));
  const before = await snapshotForFuzz(system);
  const started = Date.now();
  const counts = await runFuzz(system, { ...plan, ingestNats, seed: values.seed, onProgress: (done, all) => process.stderr.write(`[fuzz] ${done}/${all}\n`) });
  const verdict = await checkAfterFuzz(system, before, counts);
  const after = await sendReading(nc, "1", "real-after", 21);
  if (!after.ok) verdict.problems.push(`a good reading after the fuzz was refused: ${after.reason} ${after.message}`);
  const result = {
    date: new Date().toISOString(),
    seed: values.seed,
    messages: verdict.messages,
    seconds: Math.round((Date.now() - started) / 1000),
    ingestNats: counts.ingestNats,
    ingestMqtt: counts.ingestMqtt,
    mqttTopics: counts.mqttTopics,
    offload: counts.offload,
    http: counts.http,
    httpRead: counts.httpRead,
    reasons: counts.reasons,
    httpStatuses: counts.statuses,
    topicOutcomes: counts.topicOutcomes,
    readStatuses: counts.readStatuses,
    deadLettered: verdict.deadLettered,
    problems: verdict.problems,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  process.exitCode = verdict.problems.length ? 1 : 0;
} finally {
  await system.cleanup();
}
