/** What `tide audit verify` checks. */
export const VerifyCheck = {
  /** Every server and stream the audit needs could be read. */
  Reach: "reach",
  /** Cloud READINGS = the union of the edges' UPLINK (and cloud MODELS reports = the union of the edges' REPORTS), by event id. */
  Union: "union",
  /** No sequence gaps that retention limits do not explain. */
  Gaps: "gaps",
  /** Every published artifact is in the Object Store with its published digest. */
  Artifacts: "artifacts",
  /** Every stored event passes its schema. */
  Schema: "schema",
  /** Every message the cloud sourced from an edge names that edge in its subject (its `Nats-Stream-Source`: src/store/source-origin.ts). */
  Origin: "origin",
} as const;
export type VerifyCheck = (typeof VerifyCheck)[keyof typeof VerifyCheck];

/** `violation` fails the verification; `warning` is reported (in flight, explained by retention ...). */
export type Severity = "violation" | "warning";

export interface Finding {
  check: VerifyCheck;
  severity: Severity;
  /** `cloud` or `edge-<id>`. */
  domain: string;
  stream?: string;
  message: string;
  /** Sequences, event ids, digests: what a person needs to look further. */
  details?: Record<string, unknown>;
}

/** What was checked, per check, and what was found. */
export interface VerifyReport {
  checkedAt: string;
  ok: boolean;
  /** Per check: how many things it looked at (messages, ids, artifacts, streams). */
  checked: Record<VerifyCheck, number>;
  findings: Finding[];
}

/** Event ids shown in a finding at most (the count is always exact). */
export const SHOW_IDS = 20;
