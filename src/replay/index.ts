export * from "./format.ts";
export * from "./replay.ts";
