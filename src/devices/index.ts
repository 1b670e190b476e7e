export * from "./registry.ts";
export * from "./connect.ts";
