/** Types of scripts/bundle.mjs (plain JavaScript: bin/tide.js runs it before any TypeScript can load). */
export interface BundlePaths {
  dir: string;
  bundle: string;
  inputs: string;
}
export function bundlePaths(root?: string): BundlePaths;
export function bundleIsFresh(root?: string): boolean;
export function buildBundle(root?: string, entry?: string): Promise<string>;
export function freshBundle(root?: string): Promise<string>;
