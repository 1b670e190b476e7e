import { addSample, EMPTY_FIT } from "./fit.ts";
import { dataPlaceOf, localKey, perfKey, placeOf, type ActiveTask, type NodeInfo, type SchedulerState, type StoredSchedulerEvent } from "./types.ts";

/** Nothing known yet: no tasks, no nodes, nothing learned. */
export const initialState = (): SchedulerState => ({ tasks: new Map(), nodes: new Map(), perf: new Map(), fleetPerf: new Map(), links: new Map(), finished: 0 });

const withEntry = <K, V>(map: ReadonlyMap<K, V>, key: K, value: V): Map<K, V> => new Map(map).set(key, value);
const without = <K, V>(map: ReadonlyMap<K, V>, key: K): Map<K, V> => {
  const next = new Map(map);
  next.delete(key);
  return next;
};

/**
 * Fold one stored task or node event into the scheduler's state (pure: a new
 * state, the old one untouched). Task events carry their subject sequence:
 * one at or below what the state already has is a replay of something already
 * applied (the shell applies its own appends before the tail returns them)
 * and changes nothing. Finished tasks leave the state; what they measured
 * stays in the learned speeds and bandwidths.
 */
export function evolve(state: SchedulerState, stored: StoredSchedulerEvent): SchedulerState {
  const { event, seq } = stored;
  const at = Date.parse(stored.storedAt);
  switch (event.type) {
    case "tide.node.registered.v1": {
      const d = event.data;
      const previous = state.nodes.get(d.node);
      const node: NodeInfo = {
        node: d.node,
        kind: d.kind,
        ...(d.edge ? { edge: d.edge } : {}),
        cpus: d.resources.cpus,
        memoryMb: d.resources.memoryMb,
        kinds: d.kinds,
        ...(d.heartbeatMs ? { heartbeatMs: d.heartbeatMs } : {}),
        ...(previous?.rttMs === undefined ? {} : { rttMs: previous.rttMs }),
        lastSeenAt: at,
        lost: false,
      };
      return { ...state, nodes: withEntry(state.nodes, d.node, node) };
    }
    case "tide.node.heartbeat.v1": {
      const previous = state.nodes.get(event.data.node);
      if (!previous) return state;
      const rttMs = event.data.rttMs ?? previous.rttMs;
      return { ...state, nodes: withEntry(state.nodes, previous.node, { ...previous, lastSeenAt: at, lost: false, ...(rttMs === undefined ? {} : { rttMs }) }) };
    }
    case "tide.node.lost.v1": {
      const previous = state.nodes.get(event.data.node);
      return previous ? { ...state, nodes: withEntry(state.nodes, previous.node, { ...previous, lost: true }) } : state;
    }
    case "tide.task.submitted.v1": {
      if (state.tasks.has(event.data.taskId)) return state;
      const task: ActiveTask = { spec: event.data, order: seq, lastSeq: seq, phase: "pending", attempt: 0, notBefore: at, avoid: [] };
      return { ...state, tasks: withEntry(state.tasks, task.spec.taskId, task) };
    }
    default:
      return evolveTask(state, stored);
  }
}

function evolveTask(state: SchedulerState, stored: StoredSchedulerEvent): SchedulerState {
  const { event, seq } = stored;
  if (!event.type.startsWith("tide.task.") || !("taskId" in event.data)) return state;
  const task = state.tasks.get(event.data.taskId);
  if (!task || seq <= task.lastSeq) return state;
  const at = Date.parse(stored.storedAt);
  const put = (next: ActiveTask): SchedulerState => ({ ...state, tasks: withEntry(state.tasks, task.spec.taskId, next) });
  switch (event.type) {
    case "tide.task.assigned.v1": {
      const { node, attempt, estimate } = event.data;
      const { startedAt: _s, failure: _f, ...rest } = task;
      return put({ ...rest, lastSeq: seq, phase: "assigned", node, attempt, estimate, assignedAt: at });
    }
    case "tide.task.started.v1":
      return event.data.attempt === task.attempt ? put({ ...task, lastSeq: seq, phase: "running", startedAt: at }) : put({ ...task, lastSeq: seq });
    case "tide.task.progressed.v1":
      return put({ ...task, lastSeq: seq });
    case "tide.task.failed.v1":
      if (event.data.attempt !== task.attempt) return put({ ...task, lastSeq: seq });
      return put({ ...task, lastSeq: seq, phase: "ended", failure: { reason: event.data.reason, retryable: event.data.retryable } });
    case "tide.task.rescheduled.v1": {
      const { node: _n, assignedAt: _a, startedAt: _s, estimate: _e, failure: _f, ...rest } = task;
      const avoid = task.avoid.includes(event.data.fromNode) ? task.avoid : [...task.avoid, event.data.fromNode];
      return put({ ...rest, lastSeq: seq, phase: "pending", notBefore: Date.parse(event.data.notBefore), avoid });
    }
    case "tide.task.abandoned.v1":
      return { ...state, tasks: without(state.tasks, task.spec.taskId), finished: state.finished + 1 };
    case "tide.task.completed.v1":
      return learn({ ...state, tasks: without(state.tasks, task.spec.taskId), finished: state.finished + 1 }, task, event.data);
    case "tide.task.submitted.v1":
    case "tide.node.registered.v1":
    case "tide.node.heartbeat.v1":
    case "tide.node.lost.v1":
      return state;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

type Completed = Extract<StoredSchedulerEvent["event"], { type: "tide.task.completed.v1" }>["data"];

/** What a completion measured: the node's speed for the kind, and the bandwidth of the links the data crossed. */
function learn(state: SchedulerState, task: ActiveTask, done: Completed): SchedulerState {
  const bytes = done.actual.bytes ?? task.spec.data?.bytes ?? 0;
  const mb = bytes / 1_000_000;
  const key = perfKey(done.node, task.spec.kind);
  const perf = withEntry(state.perf, key, addSample(state.perf.get(key) ?? EMPTY_FIT, mb, done.actual.computeMs));
  const fleetPerf = withEntry(state.fleetPerf, task.spec.kind, addSample(state.fleetPerf.get(task.spec.kind) ?? EMPTY_FIT, mb, done.actual.computeMs));
  let links = state.links;
  const node = state.nodes.get(done.node);
  const from = dataPlaceOf(task.spec);
  if (node && from !== undefined && bytes > 0 && done.actual.transmitMs > 0) {
    const to = placeOf(node);
    const keys = from === to ? [localKey(to)] : [from, to].filter((p) => p !== "cloud");
    const next = new Map(links);
    for (const key of keys) next.set(key, addSample(links.get(key) ?? EMPTY_FIT, mb, done.actual.transmitMs));
    links = next;
  }
  return { ...state, perf, fleetPerf, links };
}
