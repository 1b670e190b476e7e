/**
 * `new Date(ms).toISOString()`, cheaper for times that come in order: events
 * created or read in bulk mostly share their second (often their
 * millisecond) with the one before, so the last second's
 * `YYYY-MM-DDTHH:MM:SS.` is kept and only the milliseconds are formatted.
 * Throws the same RangeError for a time that is not one.
 */
export function isoTimeOf(ms: number): string {
  if (ms === lastMillis) return lastIso;
  // Fractions (Date truncates them) and times past Date's range (it refuses them) are left to Date.
  if (!Number.isInteger(ms) || ms > MAX_TIME || ms < -MAX_TIME) return new Date(ms).toISOString();
  const inSecond = ms - secondStart;
  if (inSecond >= 0 && inSecond < 1000) {
    lastIso = `${secondPrefix}${inSecond < 10 ? "00" : inSecond < 100 ? "0" : ""}${inSecond}Z`;
  } else {
    lastIso = new Date(ms).toISOString();
    secondStart = ms - (((ms % 1000) + 1000) % 1000);
    secondPrefix = lastIso.slice(0, -4);
  }
  lastMillis = ms;
  return lastIso;
}

const MAX_TIME = 8.64e15;
let lastMillis = Number.NaN;
let lastIso = "";
let secondStart = Number.NaN;
let secondPrefix = "";
