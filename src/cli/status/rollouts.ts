import { recentRollouts, rolloutDetail } from "../../../projections/rollouts/queries.ts";
import { table, type StatusSection } from "./section.ts";

const cell = (value: string | number | null | undefined): string => (value === null || value === undefined || value === "" ? "-" : String(value));

/** Rollouts, newest first: version, status, current stage, and each edge's progress in it. */
export const rolloutsSection: StatusSection = {
  name: "rollouts",
  projections: ["rollouts", "rollout_reports"],
  json: ({ db, limit }) => ({ rollouts: recentRollouts(db, limit).map((r) => rolloutDetail(db, r.rollout_id)) }),
  render({ db, limit }) {
    const rollouts = recentRollouts(db, limit);
    const title = `Rollouts (newest ${limit}): stage and each edge's progress`;
    if (rollouts.length === 0) return [title, "  no rollouts yet (tide rollout VERSION, or POST /rollouts)"];
    const lines = [title];
    for (const r of rollouts) {
      const stage = r.stage === null ? "-" : `${r.stage + 1}/${r.stage_count ?? "?"} ${r.stage_name}`;
      lines.push(`  ${r.rollout_id}  ${r.version}${r.previous_version ? ` (from ${r.previous_version})` : ""}  ${r.status}  stage ${stage}${r.reason ? `  — ${r.reason}` : ""}`);
      const detail = rolloutDetail(db, r.rollout_id);
      const reported = new Map(detail?.edges.map((e) => [e.edge, e]) ?? []);
      const rows = (detail?.stages ?? []).flatMap((s) => s.edges.map((edge) => [s.name, edge, cell(reported.get(edge)?.status ?? (s.started_at ? "waiting" : "not started")), cell(reported.get(edge)?.reason), cell(reported.get(edge)?.at)]));
      if (rows.length) lines.push(...table(["STAGE", "EDGE", "STATE", "DETAIL", "AT"], rows).map((l) => `    ${l}`));
    }
    return lines;
  },
};
