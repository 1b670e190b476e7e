import type { EventData, TideEvent } from "../events/catalogue.ts";
import type { StoredEvent } from "../store/read-stream.ts";

/** A node as the loss detector sees it. */
export interface NodeLiveness {
  readonly lastSeq: number;
  readonly lastSeenAt: number;
  readonly heartbeatMs: number | undefined;
  readonly lost: boolean;
}

/** Every node the detector has heard of. */
export interface LivenessState {
  readonly nodes: ReadonlyMap<string, NodeLiveness>;
}

/** When a node counts as lost. */
export interface LivenessConfig {
  /** Heartbeats a node may miss before it is declared lost (default 3). */
  missedBeats: number;
  /** Interval assumed for a node that did not say (default 5000 ms). */
  defaultHeartbeatMs: number;
}

/** Lost after 3 missed beats; 5 s beats when a node did not say. */
export const DEFAULT_LIVENESS_CONFIG: LivenessConfig = { missedBeats: 3, defaultHeartbeatMs: 5000 };

/** The node family: what liveness is folded from. */
export type NodeEvent = TideEvent<"tide.node.registered.v1" | "tide.node.heartbeat.v1" | "tide.node.lost.v1">;
/** Check every node against the clock. */
export type LivenessCommand = { type: "detect"; now: number };
/** `node.lost` for `tide.node.<node>`, valid only while that subject is still at `expectedSeq`. */
export interface LivenessDecision {
  node: string;
  expectedSeq: number;
  event: { type: "tide.node.lost.v1"; data: EventData<"tide.node.lost.v1"> };
}

/** No node known yet. */
export const initialLiveness = (): LivenessState => ({ nodes: new Map() });

/** Whether an event is one of the node family the detector folds. */
export function isNodeEvent(event: TideEvent): event is NodeEvent {
  return event.type.startsWith("tide.node.");
}

/** Pure: fold one stored node event. Registration and heartbeats are signs of life (a lost node that beats again is back). */
export function evolveLiveness(state: LivenessState, stored: StoredEvent<NodeEvent>): LivenessState {
  const { event, seq } = stored;
  const previous = state.nodes.get(event.data.node);
  const seen = Date.parse(stored.storedAt);
  let next: NodeLiveness;
  switch (event.type) {
    case "tide.node.registered.v1":
      next = { lastSeq: seq, lastSeenAt: seen, heartbeatMs: event.data.heartbeatMs ?? previous?.heartbeatMs, lost: false };
      break;
    case "tide.node.heartbeat.v1":
      next = { lastSeq: seq, lastSeenAt: seen, heartbeatMs: previous?.heartbeatMs, lost: false };
      break;
    case "tide.node.lost.v1":
      next = { lastSeq: seq, lastSeenAt: previous?.lastSeenAt ?? seen, heartbeatMs: previous?.heartbeatMs, lost: true };
      break;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
  return { nodes: new Map(state.nodes).set(event.data.node, next) };
}

/** Pure: every live node silent for more than `missedBeats` of its intervals is declared lost. */
export function decideLiveness(command: LivenessCommand, state: LivenessState, config: LivenessConfig = DEFAULT_LIVENESS_CONFIG): LivenessDecision[] {
  switch (command.type) {
    case "detect": {
      const decisions: LivenessDecision[] = [];
      for (const [node, n] of state.nodes) {
        if (n.lost) continue;
        const interval = n.heartbeatMs ?? config.defaultHeartbeatMs;
        const silentMs = command.now - n.lastSeenAt;
        if (silentMs <= config.missedBeats * interval) continue;
        decisions.push({
          node,
          expectedSeq: n.lastSeq,
          event: { type: "tide.node.lost.v1", data: { node, lastSeen: new Date(n.lastSeenAt).toISOString(), missedHeartbeats: Math.floor(silentMs / interval) } },
        });
      }
      return decisions;
    }
    default: {
      const unreachable: never = command.type;
      return unreachable;
    }
  }
}

/** The node-loss detector as a decider. */
export const livenessDecider = { decide: decideLiveness, evolve: evolveLiveness, initialState: initialLiveness } as const;
