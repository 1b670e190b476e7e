import type { NodeEvent } from "../nodes/liveness.ts";
import type { EdgeLiveness, RolloutState } from "./types.ts";

/**
 * Folds one NODES event into what the controller knows of each edge's
 * liveness (in place, like the rest of its state). Only `node.lost` makes an
 * edge lost; a registration or a heartbeat makes it live again. Cloud nodes
 * are not edges, and are ignored.
 */
export function evolveLiveness(state: RolloutState, event: NodeEvent): RolloutState {
  switch (event.type) {
    case "tide.node.registered.v1": {
      const { node, kind, edge } = event.data;
      if (kind !== "edge" || !edge) return state;
      state.nodeEdges.set(node, edge);
      state.liveness.set(edge, { node });
      return state;
    }
    case "tide.node.heartbeat.v1": {
      const known = livenessOf(state, event.data.node);
      if (known?.lost) delete known.lost;
      return state;
    }
    case "tide.node.lost.v1": {
      const { lastSeen, missedHeartbeats } = event.data;
      const known = livenessOf(state, event.data.node);
      if (known) known.lost = { at: event.metadata.time, lastSeen, missedHeartbeats };
      return state;
    }
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** The liveness entry of the edge `node` runs, if that node registered as an edge (and is still the edge's node). */
function livenessOf(state: RolloutState, node: string): EdgeLiveness | undefined {
  const edge = state.nodeEdges.get(node);
  const known = edge === undefined ? undefined : state.liveness.get(edge);
  return known?.node === node ? known : undefined;
}

/** Why `edge` is left out of a new plan, if NODES says it is lost. */
export function lostReason(state: RolloutState, edge: string): string | undefined {
  const lost = state.liveness.get(edge)?.lost;
  if (!lost) return undefined;
  return `node ${state.liveness.get(edge)!.node} lost at ${lost.at} (last seen ${lost.lastSeen}, ${lost.missedHeartbeats} heartbeats missed)`;
}
