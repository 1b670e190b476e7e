import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.spec.ts", "src/**/*.unit.spec.ts", "projections/**/*.unit.spec.ts", "edge-runtime/**/*.unit.spec.ts", "streams/**/*.unit.spec.ts"],
    // The fault suite kills processes under load for minutes: `npm run test:faults` (vitest.faults.config.ts).
    exclude: [...configDefaults.exclude, "test/faults/**"],
    // Integration specs start real nats-server processes; give them room, and run two files at a time (2 cores).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    teardownTimeout: 30_000,
  },
});
