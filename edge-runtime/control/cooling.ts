import type { Action } from "../../src/events/inference.ts";

/**
 * The seed's control case: cooling on/off with hysteresis. Cooling turns on
 * when the temperature the decision is based on reaches `onAtOrAbove` and off
 * when it falls to `offAtOrBelow`; in between the actuator holds, so it never
 * chatters around one threshold.
 *
 * Before any model is active the **baseline** decides on the last observed
 * temperature; once a model is active it decides on the model's prediction of
 * the next temperature, so cooling starts before the threshold is crossed.
 */
export interface CoolingSettings {
  onAtOrAbove: number;
  offAtOrBelow: number;
}

export const DEFAULT_COOLING: CoolingSettings = { onAtOrAbove: 26, offAtOrBelow: 24 };

export interface CoolingState {
  cooling: boolean;
}

export interface CoolingInput {
  basis: "baseline" | "model";
  /** Baseline: the last observed temperature; model: the predicted next one. */
  temperature: number;
}

export interface CoolingDecision {
  action: Action;
  /** True when the actuator must change: a command is sent. */
  changed: boolean;
  reason: string;
  state: CoolingState;
}

export function validateCooling(settings: CoolingSettings): CoolingSettings {
  if (!(settings.offAtOrBelow < settings.onAtOrAbove)) {
    throw new Error(`cooling: offAtOrBelow (${settings.offAtOrBelow}) must be below onAtOrAbove (${settings.onAtOrAbove})`);
  }
  return settings;
}

/** Pure: the next action for one device. */
export function decideCooling(state: CoolingState, input: CoolingInput, settings: CoolingSettings = DEFAULT_COOLING): CoolingDecision {
  const what = input.basis === "baseline" ? `observed ${input.temperature.toFixed(2)} °C` : `predicted ${input.temperature.toFixed(2)} °C`;
  if (!state.cooling && input.temperature >= settings.onAtOrAbove) {
    return { action: "cooling_on", changed: true, reason: `${input.basis}: ${what} >= ${settings.onAtOrAbove} °C`, state: { cooling: true } };
  }
  if (state.cooling && input.temperature <= settings.offAtOrBelow) {
    return { action: "cooling_off", changed: true, reason: `${input.basis}: ${what} <= ${settings.offAtOrBelow} °C`, state: { cooling: false } };
  }
  return {
    action: "hold",
    changed: false,
    reason: `${input.basis}: ${what}, cooling stays ${state.cooling ? "on" : "off"} (hysteresis ${settings.offAtOrBelow}..${settings.onAtOrAbove} °C)`,
    state,
  };
}
