export * from "./findings.ts";
export * from "./gaps.ts";
export * from "./union.ts";
export * from "./verify.ts";
export { sourceSeqOf } from "./scan.ts";
export { renderVerifyReport } from "./render.ts";
