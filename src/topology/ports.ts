import { createServer } from "node:net";

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

/** Standard ports of `tide up`: the hub on NATS's defaults, edge i (from 0) above them. */
export const STANDARD_PORTS = {
  hub: { client: 4222, monitor: 8222, leaf: 7422, http: 9000 },
  edge: (index: number) => ({ client: 4223 + index, monitor: 8223 + index, mqtt: 1883 + index, http: 9101 + index }),
} as const;
