export * from "./files.ts";
export * from "./topology.ts";
export * from "./connect.ts";
export * from "./ports.ts";
export { NatsServerProcess } from "./server.ts";
