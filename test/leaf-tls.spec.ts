import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificatePaths } from "../src/topology/certs.ts";
import { freePorts, NatsServerProcess, readCredentials } from "../src/topology/index.ts";
import { eventually, givenTopology, tempDir } from "./harness.ts";
import { TIDE } from "./tide-command.ts";

let given: Awaited<ReturnType<typeof givenTopology>>;
const rogues: NatsServerProcess[] = [];

beforeAll(async () => {
  given = await givenTopology({ edges: ["1"] });
});

afterAll(async () => {
  for (const rogue of rogues) await rogue.stop();
  await given?.cleanup();
});

/** The INFO line a server sends on `port` before anything else. */
function infoOf(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1");
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      const line = /^INFO (\{.*\})\s*\r\n/.exec(buffer);
      if (line) {
        socket.destroy();
        resolve(JSON.parse(line[1]!) as Record<string, unknown>);
      }
    });
    socket.on("error", reject);
  });
}

/** What the hub and the rogue logged about the rogue's attempts. */
function logs(rogue: string): string {
  const hub = readFileSync(given.topology.file.hub.logPath, "utf8").split("\n").filter((l) => /ERR|rror|iolation/.test(l));
  const own = readFileSync(join(given.dir, `${rogue}.log`), "utf8").split("\n").filter((l) => /ERR|rror|iolation/.test(l));
  return [...hub, ...own].join("\n");
}

async function hubLeafCount(): Promise<number> {
  const res = await fetch(`${given.topology.file.hub.monitorUrl}/leafz`);
  return ((await res.json()) as { leafnodes: number }).leafnodes;
}

/** A nats-server that tries to become a leaf of the hub with the given remote settings. */
async function startRogueLeaf(name: string, remote: { user: string; password: string; tls: string }): Promise<NatsServerProcess> {
  const [client, monitor] = await freePorts(2);
  const dir = given.dir;
  const configPath = join(dir, `${name}.conf`);
  const leafPort = given.topology.file.hub.leafPort;
  writeFileSync(
    configPath,
    `server_name: ${name}\nport: ${client}\nhttp_port: ${monitor}\nhost: 127.0.0.1\n` +
      `leafnodes { remotes: [ { urls: ["nats-leaf://${remote.user}:${remote.password}@127.0.0.1:${leafPort}"], tls: ${remote.tls} } ] }\n`,
  );
  const rogue = new NatsServerProcess({ name, configPath, monitorUrl: `http://127.0.0.1:${monitor}`, logPath: join(dir, `${name}.log`) });
  rogues.push(rogue);
  await rogue.start();
  return rogue;
}

describe("TLS on the leaf links", () => {
  it("the hub's leaf port requires TLS and verifies client certificates", async () => {
    const info = await infoOf(given.topology.file.hub.leafPort);
    expect(info.tls_required).toBe(true);
    expect(info.tls_verify).toBe(true);
    // ... and the edge's link is up, so it is TLS with a verified certificate.
    expect(await hubLeafCount()).toBe(1);
  });

  it("tide up made the certificates: a CA, the hub's server certificate, the edge's client certificate; keys 0600", () => {
    const certs = certificatePaths(given.dir);
    for (const path of [certs.ca, certs.hub.cert, certs.edge("1").cert]) expect(readFileSync(path, "utf8")).toMatch(/BEGIN CERTIFICATE/);
    for (const path of [certs.hub.key, certs.edge("1").key]) expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("refuses a leaf with the right user and password but no client certificate", async () => {
    const certs = certificatePaths(given.dir);
    const leaf = readCredentials(given.topology.file.credentialsPath).edges["1"]!.leaf;
    const rogue = await startRogueLeaf("rogue-nocert", { user: leaf.user, password: leaf.password, tls: `{ ca_file: ${JSON.stringify(certs.ca)}, timeout: 5 }` });
    // The rogue tries, and the hub's TLS handshake turns it down, again and again.
    await eventually(() => logs("rogue-nocert"), (log) => /TLS leafnode handshake error: tls: client didn't provide a certificate/.test(log), 20_000, "a refused TLS handshake");
    expect(await hubLeafCount()).toBe(1);
    await rogue.stop();
  });

  it("refuses a leaf with a valid certificate but a wrong password", async () => {
    const certs = certificatePaths(given.dir);
    const own = certs.edge("1");
    const tls = `{ cert_file: ${JSON.stringify(own.cert)}, key_file: ${JSON.stringify(own.key)}, ca_file: ${JSON.stringify(certs.ca)}, timeout: 5 }`;
    const rogue = await startRogueLeaf("rogue-badpass", { user: "leaf-1", password: "not-the-password", tls });
    await eventually(() => logs("rogue-badpass"), (log) => /authentication error - User "leaf-1"/.test(log) && /Leafnode Error 'Authorization Violation'/.test(log), 20_000, "an authorization violation");
    expect(await hubLeafCount()).toBe(1);
    await rogue.stop();
  });

  it("tide certs makes a CA and certificates it verifies, keeps them on a second run, and explains bad flags", () => {
    const dir = tempDir();
    try {
      const run = (...args: string[]) => spawnSync(process.execPath, [TIDE, "certs", "--dir", dir, ...args], { encoding: "utf8" });
      const first = run("--edge", "a", "--edge", "b");
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/made 4 certificate/);
      const certs = certificatePaths(dir);
      const verified = execFileSync("openssl", ["verify", "-CAfile", certs.ca, certs.hub.cert, certs.edge("a").cert, certs.edge("b").cert], { encoding: "utf8" });
      expect(verified.match(/: OK/g)).toHaveLength(3);
      const hubCert = readFileSync(certs.hub.cert, "utf8");
      const second = run("--edge", "a", "--edge", "b");
      expect(second.stdout).toMatch(/nothing made/);
      expect(readFileSync(certs.hub.cert, "utf8")).toBe(hubCert);
      const bad = run("--edge", "Not An Id");
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--edge 'Not An Id' is not a valid edge id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
