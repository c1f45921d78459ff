import { host } from "../host.js";
import { currentRequestId } from "../app/context.js";

// Levels match the channel's LogLevel: debug 0, info 1, warn 2, error 3.
const LEVELS = { debug: 0, log: 1, info: 1, warn: 2, error: 3, trace: 0 };

function formatValue(v, seen) {
  if (typeof v === "string") return v;
  if (v instanceof Error) return v.stack || `${v.name}: ${v.message}`;
  if (v === undefined) return "undefined";
  if (typeof v === "function") return `[Function ${v.name || "(anonymous)"}]`;
  if (typeof v === "symbol" || typeof v === "bigint") return v.toString();
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return "<norepr>";
  }
}

export function format(args) {
  return args.map((a) => formatValue(a)).join(" ");
}

function writer(level) {
  return (...args) => host.log(level, currentRequestId(), format(args));
}

export const console = {};
for (const [name, level] of Object.entries(LEVELS)) console[name] = writer(level);

/** Logs from the runtime itself, attributed to the current request. */
export function logError(message) {
  host.log(3, currentRequestId(), message);
}
