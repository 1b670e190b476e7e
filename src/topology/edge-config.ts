import { readFileSync } from "node:fs";
import { EDGE_LOCAL_FAMILIES } from "../events/subjects.ts";
import { projectPath } from "../paths.ts";

const TEMPLATE = projectPath("edge-runtime", "leaf.conf.template");

export interface EdgeConfigValues {
  edgeId: string;
  host: string;
  clientPort: number;
  monitorPort: number;
  mqttPort: number;
  storeDir: string;
  pidFile: string;
  leafUser: string;
  leafPassword: string;
  /** PEM files for the TLS leaf link (`tide certs`). */
  leafTls: { cert: string; key: string; ca: string };
  hubHost: string;
  /** The leaf port of every hub server (one, or each server of a cluster). */
  hubLeafPorts: readonly number[];
}

/** Render `edge-runtime/leaf.conf.template` for one edge. Every placeholder must be filled. */
export function renderEdgeConfig(values: EdgeConfigValues): string {
  const replacements: Record<string, string> = {
    EDGE_ID: values.edgeId,
    HOST: values.host,
    CLIENT_PORT: String(values.clientPort),
    MONITOR_PORT: String(values.monitorPort),
    MQTT_PORT: String(values.mqttPort),
    STORE_DIR: values.storeDir,
    PID_FILE: values.pidFile,
    LEAF_TLS_CERT: values.leafTls.cert,
    LEAF_TLS_KEY: values.leafTls.key,
    LEAF_TLS_CA: values.leafTls.ca,
    HUB_LEAF_URLS: values.hubLeafPorts
      .map((port) => JSON.stringify(`nats-leaf://${encodeURIComponent(values.leafUser)}:${encodeURIComponent(values.leafPassword)}@${values.hubHost}:${port}`))
      .join(", "),
    LOCAL_SUBJECTS: EDGE_LOCAL_FAMILIES.map((s) => JSON.stringify(s)).join(", "),
  };
  const rendered = readFileSync(TEMPLATE, "utf8").replace(/\{\{([A-Z_]+)\}\}/g, (match, key: string) => {
    const value = replacements[key];
    if (value === undefined) throw new Error(`leaf.conf.template: unknown placeholder ${match}`);
    return value;
  });
  return rendered;
}
