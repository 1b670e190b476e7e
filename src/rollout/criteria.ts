import type { EventData } from "../events/catalogue.ts";
import type { EdgeVerdict, RolloutCriteria } from "./types.ts";

const BASELINE = "baseline";
// A previous error this small counts as this much: a perfect-looking old model must not make every new one "infinitely" worse.
const ERROR_FLOOR_C = 0.01;

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Judges one edge's observation of a new model against the criteria: its mean
 * absolute prediction error and mean latency against the model it replaced on
 * the same edge. `requireEvidence` (canary stages): an edge that scored no
 * prediction of the new model fails; later stages only need to do no harm
 * where there is evidence.
 */
export function judge(edge: string, observed: EventData<"tide.model.observed.v1">, criteria: RolloutCriteria, requireEvidence: boolean): EdgeVerdict {
  const { current, previous } = observed;
  const inferences = current.inferences;
  if (inferences === 0 || current.maeC === undefined) {
    return requireEvidence
      ? { edge, passed: false, inferences, reason: `no prediction of ${current.version} could be scored in ${observed.observedMs} ms` }
      : { edge, passed: true, inferences, reason: "activated; no predictions to score yet" };
  }
  const checks: string[] = [];
  const verdict: EdgeVerdict = { edge, passed: true, inferences, reason: "" };
  if (previous && previous.inferences > 0 && previous.maeC !== undefined) {
    const errorRatio = current.maeC / Math.max(previous.maeC, ERROR_FLOOR_C);
    verdict.errorRatio = round(errorRatio);
    const ok = errorRatio <= criteria.maxErrorRatio;
    if (!ok) verdict.passed = false;
    checks.push(`error ${current.maeC.toFixed(3)} °C vs ${previous.version} ${previous.maeC.toFixed(3)} °C (×${errorRatio.toFixed(2)}, max ×${criteria.maxErrorRatio})`);
  } else {
    checks.push(`error ${current.maeC.toFixed(3)} °C (no scored predictions of the previous model to compare)`);
  }
  if (current.latencyMs !== undefined) {
    if (previous && previous.version !== BASELINE && previous.latencyMs !== undefined && previous.inferences > 0) {
      const latencyRatio = current.latencyMs / Math.max(previous.latencyMs, 0.01);
      verdict.latencyRatio = round(latencyRatio);
      if (latencyRatio > criteria.maxLatencyRatio) verdict.passed = false;
      checks.push(`latency ${current.latencyMs.toFixed(2)} ms vs ${previous.latencyMs.toFixed(2)} ms (×${latencyRatio.toFixed(2)}, max ×${criteria.maxLatencyRatio})`);
    } else {
      if (current.latencyMs > criteria.maxLatencyMs) verdict.passed = false;
      checks.push(`latency ${current.latencyMs.toFixed(2)} ms (max ${criteria.maxLatencyMs} ms)`);
    }
  }
  verdict.reason = `${verdict.passed ? "passed" : "failed"} over ${inferences} predictions: ${checks.join("; ")}`;
  return verdict;
}
