export * from "./append-to-stream.ts";
export * from "./event-writer.ts";
export * from "./read-stream.ts";
