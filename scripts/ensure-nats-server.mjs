#!/usr/bin/env node
// Finds nats-server (NATS_SERVER_BIN, then PATH, then /usr/sbin), installs Debian's
// package when it is missing and we are root with apt, and checks the version.
// Runs before `npm test`, `npm start` and `npm run bench`; plain JS so it needs no build.
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const MIN = [2, 9, 0];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findNatsServer(env = process.env) {
  if (env.NATS_SERVER_BIN) {
    if (!executable(env.NATS_SERVER_BIN)) {
      throw new Error(`NATS_SERVER_BIN=${env.NATS_SERVER_BIN} is not an executable file`);
    }
    return env.NATS_SERVER_BIN;
  }
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, "nats-server");
    if (executable(candidate)) return candidate;
  }
  return executable("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : undefined;
}

function version(bin) {
  const out = execFileSync(bin, ["--version"], { encoding: "utf8" });
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!match) throw new Error(`cannot read the version of ${bin} from: ${out.trim()}`);
  return match.slice(1, 4).map(Number);
}

function atLeast(v, min) {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

function installFromDebian() {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  if (!isRoot || !hasApt) return false;
  console.error("tide: nats-server not found; installing Debian's nats-server package (apt-get)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  if (update.status !== 0) return false;
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "nats-server"], { stdio: "inherit", env });
  return install.status === 0;
}

const HOW = [
  "Tide needs nats-server >= 2.9 and could not find or install it.",
  "Install it with one of:",
  "  sudo apt-get install -y nats-server        (Debian/Ubuntu)",
  "  or download a release from the NATS project and put nats-server on your PATH",
  "or point NATS_SERVER_BIN at the binary.",
].join("\n");

function main() {
  let bin = findNatsServer();
  if (!bin && installFromDebian()) bin = findNatsServer();
  if (!bin) {
    console.error(HOW);
    process.exit(1);
  }
  const v = version(bin);
  if (!atLeast(v, MIN)) {
    console.error(`tide: ${bin} is version ${v.join(".")}; Tide needs >= ${MIN.join(".")}.\n${HOW}`);
    process.exit(1);
  }
  if (process.env.TIDE_QUIET !== "1") console.error(`tide: using ${bin} v${v.join(".")}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (error) {
    console.error(`tide: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
