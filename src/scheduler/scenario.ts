import type { EventData } from "../events/catalogue.ts";
import { decide } from "./decider.ts";
import { evolve, initialState } from "./evolve.ts";
import { DEFAULT_SCHEDULER_CONFIG, type Decision, type SchedulerCommand, type SchedulerConfig, type SchedulerEvent, type SchedulerState } from "./types.ts";

/** A fact for the given/when/then specs: an event body, optionally stored `at` ms since the scenario's start. */
export type Fact = { [E in SchedulerEvent as E["type"]]: { type: E["type"]; data: E["data"]; at?: number } }[SchedulerEvent["type"]];

export const T0 = Date.parse("2026-01-01T00:00:00Z");
export const iso = (ms: number) => new Date(T0 + ms).toISOString();

/** Fold `facts` into a state, numbering them as a stream would. */
export function stateOf(facts: readonly Fact[], start: SchedulerState = initialState()): SchedulerState {
  let state = start;
  facts.forEach((fact, i) => {
    const event = { type: fact.type, data: fact.data, metadata: { id: `e${i}`, source: "spec", time: iso(fact.at ?? 0) } } as SchedulerEvent;
    state = evolve(state, { seq: i + 1, subject: "spec", storedAt: iso(fact.at ?? 0), pending: 0, event });
  });
  return state;
}

/** given(facts).when(command at ms).then(decisions => expectations) */
export function given(facts: readonly Fact[], config: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG) {
  const state = stateOf(facts);
  return {
    state,
    when(command: { type: SchedulerCommand["type"]; at: number }) {
      const decisions = decide({ type: command.type, now: T0 + command.at } as SchedulerCommand, state, config);
      return { decisions, then: (check: (decisions: Decision[]) => void) => check(decisions) };
    },
  };
}

/** Facts for a node that registered and beat at `at`. */
export function node(id: string, options: { edge?: string; cpus?: number; memoryMb?: number; kinds?: string[]; rttMs?: number; at?: number } = {}): Fact[] {
  const at = options.at ?? 0;
  return [
    {
      type: "tide.node.registered.v1",
      at,
      data: {
        node: id,
        kind: options.edge ? "edge" : "cloud",
        ...(options.edge ? { edge: options.edge } : {}),
        resources: { cpus: options.cpus ?? 2, memoryMb: options.memoryMb ?? 4096 },
        kinds: options.kinds ?? ["batch_inference", "aggregate"],
        heartbeatMs: 1000,
      },
    },
    { type: "tide.node.heartbeat.v1", at, data: { node: id, cpuLoad: 0.1, memoryMb: 100, freeMemoryMb: 1000, queueDepth: 0, ...(options.rttMs === undefined ? {} : { rttMs: options.rttMs }) } },
  ];
}

export function submitted(taskId: string, data: Partial<EventData<"tide.task.submitted.v1">> = {}, at = 0): Fact {
  return { type: "tide.task.submitted.v1", at, data: { taskId, kind: "aggregate", needs: { cpu: 1, memoryMb: 128 }, priority: 4, payload: {}, ...data } };
}
