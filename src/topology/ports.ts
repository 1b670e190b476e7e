import { createServer, type AddressInfo, type Server } from "node:net";

/** A TCP port that was free a moment ago on `host` (the OS picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * `count` distinct free ports: all are held open until all are chosen, so one
 * call never hands out the same port twice. Another process can still take
 * one before the server binds it; startTopology retries when that happens.
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on("error", reject);
      server.listen(0, host, () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** Standard ports of `tide up`: the hub on NATS's defaults, edge i (from 0) above them. */
export const STANDARD_PORTS = {
  hub: { client: 4222, monitor: 8222, leaf: 7422, http: 9000 },
  edge: (index: number) => ({ client: 4223 + index, monitor: 8223 + index, mqtt: 1883 + index, http: 9101 + index }),
  /** Server i (from 0) of a clustered hub; server 0 has the hub's ports. */
  hubServer: (index: number) =>
    index === 0 ? { client: 4222, monitor: 8222, leaf: 7422, cluster: 6222 } : { client: 4300 + index, monitor: 8300 + index, leaf: 7500 + index, cluster: 6222 + index },
} as const;
