import { host } from "../host.js";
import { currentRequestId } from "../app/context.js";

// Levels match the channel's LogLevel: debug 0, info 1, warn 2, error 3.
const stringify = JSON.stringify; // captured: apps may replace JSON

const LEVELS = { debug: 0, log: 1, info: 1, warn: 2, error: 3, trace: 0 };

function formatValue(v, seen) {
  if (typeof v === "string") return v;
  if (v instanceof Error) return v.stack || `${v.name}: ${v.message}`;
  if (v === undefined) return "undefined";
  if (typeof v === "function") return `[Function ${v.name || "(anonymous)"}]`;
  if (typeof v === "symbol" || typeof v === "bigint") return v.toString();
  try {
    const s = stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return "<norepr>";
  }
}

/** Describes any thrown value without throwing (Symbols, Proxies and getters that throw included). */
export function describe(e) {
  try {
    if (e instanceof Error && e.stack) return String(e.stack);
    return formatValue(e);
  } catch {
    try {
      return String(e);
    } catch {
      return "<a value that cannot be printed>";
    }
  }
}

export function format(args) {
  return args.map((a) => formatValue(a)).join(" ");
}

function writer(level) {
  return (...args) => {
    let text;
    try {
      text = format(args);
    } catch (e) {
      text = "<console arguments that cannot be printed>";
    }
    host.log(level, currentRequestId(), text);
  };
}

export const console = {};
for (const [name, level] of Object.entries(LEVELS)) console[name] = writer(level);

/** Logs from the runtime itself, attributed to the current request. */
export function logError(message) {
  host.log(3, currentRequestId(), message);
}
