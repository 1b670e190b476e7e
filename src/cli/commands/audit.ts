import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { UsageError } from "../../errors.ts";
import { exportBundle, openPlaces, renderDecisionLineage, renderModelLineage, renderVerifyReport, traceDecision, traceModel, verifyFleet } from "../../audit/index.ts";
import { createLogger } from "../../log.ts";
import { readTopology } from "../../topology/index.ts";
import { DIR_OPTION, dirOf, int, parse, time } from "../args.ts";

const USAGE = [
  "tide audit decision EVENT_ID [--edge ID] [--json] [--dir D]",
  "tide audit model VERSION [--json] [--dir D]",
  "tide audit verify [--settle S] [--json] [--dir D]",
  "tide audit export --since T --until T [--out FILE] [--dir D]",
].join("\n       ");

/**
 * `tide audit`: lineage of a decision or a model, integrity verification of
 * the whole fleet's streams, and an export of a time window with its lineage.
 */
export async function auditCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...DIR_OPTION, edge: { type: "string" }, json: { type: "boolean" }, settle: { type: "string" }, since: { type: "string" }, until: { type: "string" }, out: { type: "string" } },
    USAGE,
    2,
  );
  const [sub, arg] = positionals;
  const only = (allowed: string[]) => {
    const extra = (["edge", "json", "settle", "since", "until", "out"] as const).filter((k) => values[k] !== undefined && !allowed.includes(k));
    if (extra.length) throw new UsageError(`audit ${sub} takes no --${extra.join(", --")}\nusage: ${USAGE}`);
  };
  switch (sub) {
    case "decision": {
      only(["edge", "json"]);
      if (!arg) throw new UsageError(`which decision? (its event id)\nusage: ${USAGE}`);
      const places = await openPlaces(readTopology(dirOf(values.dir)), values.edge ? { edges: [values.edge] } : {});
      try {
        const lineage = await traceDecision(places, arg);
        process.stdout.write((values.json ? JSON.stringify(lineage) : renderDecisionLineage(lineage)) + "\n");
      } finally {
        await places.close();
      }
      return 0;
    }
    case "model": {
      only(["json"]);
      if (!arg) throw new UsageError(`which model version?\nusage: ${USAGE}`);
      const places = await openPlaces(readTopology(dirOf(values.dir)));
      try {
        const lineage = await traceModel(places, arg);
        process.stdout.write((values.json ? JSON.stringify(lineage) : renderModelLineage(lineage)) + "\n");
      } finally {
        await places.close();
      }
      return 0;
    }
    case "verify": {
      only(["json", "settle"]);
      if (arg) throw new UsageError(`audit verify takes no argument\nusage: ${USAGE}`);
      const settleS = int(values.settle, "settle", { min: 0, max: 600 }) ?? 10;
      const places = await openPlaces(readTopology(dirOf(values.dir)));
      try {
        const step = process.stderr.isTTY ? (m: string) => process.stderr.write(`${m}\n`) : undefined;
        const report = await verifyFleet(places, { settleMs: settleS * 1000, ...(step ? { onStep: step } : {}) });
        process.stdout.write((values.json ? JSON.stringify(report) : renderVerifyReport(report)) + "\n");
        return report.ok ? 0 : 1;
      } finally {
        await places.close();
      }
    }
    case "export": {
      only(["since", "until", "out"]);
      if (arg) throw new UsageError(`audit export takes no argument\nusage: ${USAGE}`);
      const since = time(values.since, "since");
      const until = time(values.until, "until") ?? new Date();
      if (!since) throw new UsageError(`audit export needs --since\nusage: ${USAGE}`);
      if (since > until) throw new UsageError("--since is after --until");
      const places = await openPlaces(readTopology(dirOf(values.dir)));
      const out = values.out ? createWriteStream(values.out) : process.stdout;
      try {
        const write = async (chunk: string) => {
          if (!out.write(chunk)) await once(out, "drain");
        };
        const counts = await exportBundle(places, { since, until, write, logger: createLogger() });
        const failed = counts.lineageErrors ? ` (${counts.lineageErrors} could not be traced: see lineageErrors)` : "";
        process.stderr.write(
          `exported ${counts.events} event(s), ${counts.decisions} decision(s), ${counts.models} model lineage(s)${failed} stored ${since.toISOString()} .. ${until.toISOString()}${values.out ? ` to ${values.out}` : ""}\n`,
        );
      } finally {
        if (out !== process.stdout) await new Promise<void>((resolve) => out.end(() => resolve()));
        await places.close();
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown audit subcommand '${sub ?? ""}'\nusage: ${USAGE}`);
  }
}
