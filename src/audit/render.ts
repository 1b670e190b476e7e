import type { DecisionLineage } from "./lineage/decision.ts";
import type { ModelLineage } from "./lineage/model.ts";
import type { PublicationLineage } from "./lineage/publication.ts";
import type { RolloutLineage } from "./lineage/rollout.ts";
import type { DataLineage, RunLineage } from "./lineage/training.ts";

const n4 = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(4));
const short = (hash: string | undefined) => (hash ? hash.slice(0, 16) : "-");

function modelLines(m: PublicationLineage): string[] {
  const e = m.evaluation;
  const lines = [
    `model ${m.version}: ${m.published ? `published ${m.publishedAt}` : "not published (rejected by the gate)"}, run ${m.runId ?? "-"}, parent ${m.parentVersion ?? "none"}`,
  ];
  if (e) {
    lines.push(
      `  gate: ${e.accepted ? "accepted" : "rejected"}${e.forced ? " (forced)" : ""}; test MAE ${n4(e.candidateMae)} °C vs persistence ${n4(e.persistenceMae)}` +
        (e.productionVersion ? ` and production ${e.productionVersion} ${n4(e.productionMae)}` : "") +
        ` on ${e.testSamples} held-out samples`,
    );
  }
  if (m.artifact) lines.push(`  artifact: ${m.artifact.bucket}/${m.artifact.name}, ${m.artifact.size} B, ${m.artifact.quantization}, sha256 ${short(m.artifact.sha256)}…${m.artifact.signed ? ", signed" : ""}`);
  return lines;
}

function rolloutLines(r: RolloutLineage): string[] {
  const o = r.outcome;
  const lines = [
    `rollout ${r.rolloutId}: ${r.strategy ?? "?"} of ${r.version ?? "?"}${r.previousVersion ? ` (replacing ${r.previousVersion})` : ""}, requested ${r.requestedAt ?? "-"} by ${r.requestedBy ?? "-"}; ${o.status}${o.at ? ` ${o.at}` : ""}${o.reason ? `: ${o.reason}` : ""}${o.toVersion ? ` (back to ${o.toVersion})` : ""}`,
  ];
  for (const s of r.stages) {
    const verdicts = s.verdicts?.map((v) => `${v.edge} ${v.passed ? "passed" : "failed"} (${v.reason})`).join("; ");
    lines.push(`  stage ${s.index} ${s.name} [${s.edges.join(", ")}]: started ${s.startedAt ?? "-"}${s.completedAt ? `, completed ${s.completedAt}` : ""}${verdicts ? ` — ${verdicts}` : ""}`);
  }
  return lines;
}

function runLines(run: RunLineage): string[] {
  const o = run.outcome;
  const outcome = o.status === "completed" ? `completed ${o.at}: ${o.version} ${o.published ? "published" : "not published"}` : o.status === "failed" ? `failed ${o.at} (${o.stage ?? "?"}): ${o.reason}` : "running";
  const lines = [
    `training run ${run.runId}: reason ${run.reason ?? "?"}${run.detail ? ` (${run.detail})` : ""}, requested ${run.requestedAt ?? "-"}, trainer ${run.trainer ?? "-"}, backend ${run.backend ?? "-"}; ${outcome}`,
    `  dataset: cloud READINGS seq ${run.fromSeq ?? "?"}..${run.toSeq ?? "?"}, ${run.readings ?? "?"} readings from ${run.devices ?? "?"} devices, window ${run.window ?? "?"}, hash ${short(run.datasetHash)}…`,
  ];
  for (const e of run.epochs) lines.push(`  epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toPrecision(4)}, val ${e.valLoss.toPrecision(4)}, ${Math.round(e.durationMs)} ms`);
  return lines;
}

function dataLines(data: DataLineage): string[] {
  const lines = [
    `data: cloud READINGS seq ${data.fromSeq}..${data.toSeq} holds ${data.readings} readings now` +
      (data.recordedReadings === undefined ? "" : data.recordedReadings === data.readings ? " (as recorded)" : ` (the run recorded ${data.recordedReadings}!)`),
  ];
  if (data.datasetHash) lines.push(`  dataset hash recomputed: ${data.datasetHash.matches ? "matches the recorded one" : `differs (recorded ${short(data.datasetHash.recorded)}…, now ${short(data.datasetHash.recomputed)}…; a run with a non-default split also differs)`}`);
  for (const d of data.devices) lines.push(`  edge ${d.edge} device ${d.device}: ${d.readings} readings (seq ${d.firstSeq}..${d.lastSeq})`);
  return lines;
}

/** `tide audit decision ID` for people. */
export function renderDecisionLineage(l: DecisionLineage): string {
  const d = l.decision;
  const lines = [
    `decision ${d.id}: ${d.action} for ${d.edge}/${d.device} at ${d.at} (${d.domain} INFERENCES seq ${d.seq}); basis ${d.basis}${d.modelVersion ? ` ${d.modelVersion}` : ""}: ${d.reason}`,
  ];
  const i = l.inference;
  if (i) {
    lines.push(
      `inference ${i.id} (seq ${i.seq}) at ${i.at}: model ${i.modelVersion}${i.backend ? ` on ${i.backend}` : ""} predicted ${i.prediction.temperature.toFixed(2)} °C, anomaly score ${i.anomalyScore.toFixed(2)}, ${i.latencyMs.toFixed(1)} ms` +
        (i.offload ? `; offload ${JSON.stringify(i.offload)}` : ""),
    );
    lines.push(`  inputs (${d.domain} READINGS seq ${l.inputs.map((x) => x.seq).join(", ")}):`);
    for (const x of l.inputs) lines.push(x.missing ? `    seq ${x.seq}: no longer stored` : `    seq ${x.seq}: ${x.device} ${x.ts} ${x.temperature} °C ${x.humidity} %  (${x.subject})`);
  }
  if (l.deployment.kind === "baseline") lines.push("model: none — the rule-based baseline decided (no model was active on the edge)");
  if (l.model) lines.push(...modelLines(l.model));
  const dep = l.deployment;
  if (dep.kind === "rollout") lines.push(`on edge ${d.edge} by rollout ${dep.rolloutId} (${dep.cause}), activated ${l.activation?.at}${l.activation?.previousVersion ? `, replacing ${l.activation.previousVersion}` : ""}`);
  if (dep.kind === "local") lines.push(`on edge ${d.edge}: activated locally (${dep.cause}) at ${l.activation?.at}, no rollout`);
  if (dep.kind === "unknown") lines.push(`on edge ${d.edge}: ${dep.reason}`);
  if (l.rollout) lines.push(...rolloutLines(l.rollout));
  if (l.run) lines.push(...runLines(l.run));
  if (l.data) lines.push(...dataLines(l.data));
  for (const note of l.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

/** `tide audit model VERSION` for people. */
export function renderModelLineage(l: ModelLineage): string {
  const lines: string[] = l.model ? modelLines(l.model) : [`model ${l.version}: no events on the cloud MODELS`];
  lines.push(`decisions made with ${l.version}: ${l.decisions} on the edges; ${l.cloudOffloads} edge inference(s) answered by the cloud with it (joint inference)`);
  for (const e of l.edges) {
    if (e.unreachable) {
      lines.push(`edge ${e.edge}: unreachable (${e.unreachable}); activations as the cloud knows them below`);
    } else {
      const actions = Object.entries(e.actions).map(([a, c]) => `${a} ${c}`).join(", ");
      lines.push(`edge ${e.edge}: ${e.inferences} inferences${e.firstInferenceAt ? ` from ${e.firstInferenceAt} to ${e.lastInferenceAt}` : ""}, ${e.decisions} decision(s)${actions ? ` (${actions})` : ""}`);
    }
    for (const p of e.periods) lines.push(`  active from ${p.from}${p.until ? ` until ${p.until} (replaced by ${p.replacedBy})` : " (still active)"}; ${p.rolloutId ? `rollout ${p.rolloutId}` : "no rollout"}${p.cause ? ` (${p.cause})` : ""}`);
    for (const f of e.failures) lines.push(`  activation failed ${f.at}${f.rolloutId ? ` (rollout ${f.rolloutId})` : ""}: ${f.reason}`);
  }
  if (l.rollouts.length === 0) lines.push("rollouts: none");
  for (const r of l.rollouts) lines.push(...rolloutLines(r));
  if (l.run) lines.push(...runLines(l.run));
  if (l.data) lines.push(...dataLines(l.data));
  for (const note of l.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}
