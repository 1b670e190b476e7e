import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TopologyError, errorMessage } from "../errors.ts";
import { edgeDomain } from "../ids.ts";

/**
 * Certificates for the leaf links: a Tide CA, a server certificate for the
 * hub's leaf port, and a client certificate per edge. The hub requires and
 * verifies the edge's certificate (`verify: true`) on top of the edge's
 * leaf user and password; the edge verifies the hub against the CA.
 * Generated with openssl (Node's crypto cannot issue X.509 certificates).
 */
export interface LeafCertificates {
  dir: string;
  ca: string;
  hub: { cert: string; key: string };
  edge(id: string): { cert: string; key: string };
}

export function certificatePaths(stateDir: string): LeafCertificates {
  const dir = join(stateDir, "certs");
  return {
    dir,
    ca: join(dir, "ca.pem"),
    hub: { cert: join(dir, "hub.pem"), key: join(dir, "hub-key.pem") },
    edge: (id) => ({ cert: join(dir, `${edgeDomain(id)}.pem`), key: join(dir, `${edgeDomain(id)}-key.pem`) }),
  };
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new TopologyError(`openssl ${args[0]} failed: ${stderr || errorMessage(error)} (is openssl installed? apt-get install openssl)`, { cause: error });
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Issue `cert`/`key` signed by the CA in `dir`, with the given extensions. */
function issue(dir: string, name: string, subject: string, extensions: string, days: number, out: { cert: string; key: string }): void {
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  try {
    openssl(["req", ...EC, "-keyout", out.key, "-out", csr, "-subj", subject], dir);
    openssl(["x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", out.cert, "-days", String(days), "-sha256", "-extfile", ext], dir);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

export interface EnsureCertificatesOptions {
  /** Edge ids that need a client certificate. */
  edges: readonly string[];
  /** Host names / IPs the hub's leaf port is reached at (default 127.0.0.1 and localhost). */
  hubHosts?: readonly string[];
  /** Make new ones even when they exist (`tide certs --force`). */
  force?: boolean;
}

function altNames(hosts: readonly string[]): string {
  return hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
}

/**
 * `tide certs`: create what is missing under `<dir>/certs/` (keys mode 0600):
 * the CA, the hub's leaf server certificate, one client certificate per edge.
 * Returns the paths and what was created.
 */
export function ensureCertificates(stateDir: string, options: EnsureCertificatesOptions): { paths: LeafCertificates; created: string[] } {
  const paths = certificatePaths(stateDir);
  const created: string[] = [];
  if (options.force) rmSync(paths.dir, { recursive: true, force: true });
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const hosts = [...new Set(["127.0.0.1", "localhost", ...(options.hubHosts ?? [])])];
  let newCa = false;
  if (!existsSync(paths.ca) || !existsSync(join(paths.dir, "ca-key.pem"))) {
    openssl(
      ["req", "-x509", ...EC, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "3650", "-sha256", "-subj", "/CN=Tide leaf CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
      paths.dir,
    );
    created.push(paths.ca);
    newCa = true;
  }
  if (newCa || !existsSync(paths.hub.cert)) {
    issue(paths.dir, "hub", "/CN=tide-hub", `subjectAltName=${altNames(hosts)}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`, 825, paths.hub);
    created.push(paths.hub.cert);
  }
  for (const id of options.edges) {
    const own = paths.edge(id);
    if (!newCa && existsSync(own.cert)) continue;
    issue(paths.dir, edgeDomain(id), `/CN=${edgeDomain(id)}`, `subjectAltName=DNS:${edgeDomain(id)}\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n`, 825, own);
    created.push(own.cert);
  }
  for (const file of readdirSync(paths.dir)) if (file.endsWith("-key.pem")) chmodSync(join(paths.dir, file), 0o600);
  return { paths, created };
}
