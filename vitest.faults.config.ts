import { defineConfig } from "vitest/config";

/** `npm run test:faults`: the fault suite (test/faults/), real processes killed and links cut under load. */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.spec.ts"],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 2,
    teardownTimeout: 30_000,
  },
});
