import { host } from "../host.js";
import { currentContext, enter } from "../app/context.js";
import { logError } from "./console.js";

// setTimeout/setInterval: the worker's event loop owns the clock; JS keeps the callbacks.
const timers = new Map();
let nextId = 1;

function schedule(cb, ms, args, repeat) {
  if (typeof cb !== "function") throw new TypeError("timer callback must be a function");
  let delay = Number(ms);
  if (!(delay >= 0) || !Number.isFinite(delay)) delay = 0;
  const id = nextId++;
  const ctx = currentContext();
  timers.set(id, { cb, args, delay, repeat, ctx });
  host.timerSet(id, delay, ctx ? ctx.exchangeId : 0);
  return id;
}

export function setTimeout(cb, ms, ...args) {
  return schedule(cb, ms, args, false);
}

export function setInterval(cb, ms, ...args) {
  return schedule(cb, ms, args, true);
}

export function clearTimeout(id) {
  if (timers.delete(id)) host.timerClear(id);
}

export const clearInterval = clearTimeout;

export function queueMicrotask(cb) {
  if (typeof cb !== "function") throw new TypeError("queueMicrotask needs a function");
  Promise.resolve().then(() => cb());
}

/** Called by the dispatcher when the host says timer `id` is due. */
export function fireTimer(id) {
  const t = timers.get(id);
  if (!t) return;
  enter(t.ctx);
  if (t.repeat) host.timerSet(id, t.delay, t.ctx ? t.ctx.exchangeId : 0);
  else timers.delete(id);
  try {
    t.cb(...t.args);
  } catch (e) {
    logError(`uncaught exception in timer callback: ${e && e.stack ? e.stack : e}`);
  }
}
