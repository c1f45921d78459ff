// The worker's entry into JS: one call per event from the host (a request is ready, a timer is
// due, a request must be abandoned). Requests go to the app's `export default { fetch }` when it
// has one, else to the Router. Whatever the app does, every request gets exactly one answer.
import { host } from "../host.js";
import { enter } from "./context.js";
import { App, setEnv } from "./app.js";
import { RouterImpl } from "../router/router.js";
import { incomingRequest } from "../http/request.js";
import { Body } from "../http/body.js";
import { Response, responseWireForm } from "../http/response.js";
import { headerLinesText } from "../http/headers.js";
import { fireTimer } from "../web/timers.js";
import { logError, describe } from "../web/console.js";
import { fetchDone } from "../web/fetch.js";
import { STRING_CROSSING_MAX, bytesToBinary, binaryToBytes } from "../binary.js";

// Captured before app code runs: an app may replace the globals, never the platform's path.
const { parse } = JSON;
const { isInteger } = Number;
const split = Function.prototype.call.bind(String.prototype.split);

export const Router = new RouterImpl();
let appModule = null;
const unanswered = new Map(); // exchange id -> request context, until the response is sent
// The request being dispatched while its handler may still answer within the same call, and that
// answer once it has: handed back as the dispatcher's return value instead of through a host call.
let answerableInCall = 0;
let answerInCall;

const EVENT_REQUEST = 1;
const EVENT_TIMER = 2;
const EVENT_ABANDON = 3;
const EVENT_FETCH_DONE = 4;

export function setAppModule(module, envValues) {
  appModule = module;
  setEnv(envValues);
}

/**
 * Handles one event from the host (RuntimeEvents.cs): fields joined by "\n" (kind, id, ...), or
 * JSON, which starts with "{", for fetch results and for requests the text form cannot carry.
 */
export function dispatch(event) {
  answerableInCall = 0; // a dispatch the host interrupted may have left them set
  answerInCall = undefined;
  handleEvent(event);
  answerableInCall = 0;
  return answerInCall; // kept until the next dispatch: if the microtasks after this fail, the host takes it (takeAnswer)
}

/** The answer the last dispatch returned, once: for the host when that call failed after it was given. */
export function takeAnswer() {
  const answer = answerInCall;
  answerInCall = undefined;
  return answer;
}

function handleEvent(event) {
  if (event[0] === "{") {
    const ev = parse(event);
    if (ev.kind === EVENT_REQUEST) startRequest(ev.id, ev.requestId, ev.method, ev.url, ev.headers, 0, ev.bodyLength);
    else if (ev.kind === EVENT_FETCH_DONE) fetchDone(ev, eventBody(ev.bodyLength));
    return;
  }
  const fields = split(event, "\n");
  const kind = +fields[0];
  if (kind === EVENT_REQUEST) {
    // 1, id, body length, request id, method, url, then header names and values from index 6
    startRequest(+fields[1], fields[3], fields[4], fields[5], fields, 6, +fields[2]);
  } else if (kind === EVENT_TIMER) {
    fireTimer(+fields[1]);
  } else if (kind === EVENT_ABANDON) {
    abandon(+fields[1]);
  }
}

function startRequest(exchangeId, requestId, method, url, headerFields, headerStart, bodyLength) {
  const body = requestBody(bodyLength);
  const ctx = { exchangeId, requestId };
  unanswered.set(exchangeId, ctx);
  enter(ctx);
  answerableInCall = exchangeId;
  handleRequest(ctx, method, url, headerFields, headerStart, body);
  answerableInCall = 0;
}

/** The current request's body as a Body (kept as the binary string it crossed as, when it did), or null. */
function requestBody(length) {
  if (!(length > 0)) return null;
  if (length <= STRING_CROSSING_MAX) return Body.fromBinary(host.eventBodyText(length));
  const bytes = new Uint8Array(length);
  host.eventBody(bytes);
  return new Body(bytes);
}

/** The current event's body bytes, or null when it has none. */
function eventBody(length) {
  if (!(length > 0)) return null;
  if (length <= STRING_CROSSING_MAX) return binaryToBytes(host.eventBodyText(length));
  const body = new Uint8Array(length);
  host.eventBody(body);
  return body;
}

/**
 * Sends an answer; `body` is a binary string (see binary.js) or bytes. The answer of the request
 * being dispatched, given before its dispatch returns, goes back as the dispatcher's return value
 * (JsEngine.Dispatch reads it): "exchange\nstatus\nheader lines\0body" (header lines hold no NUL).
 */
function respond(exchangeId, status, headers, body) {
  if (typeof body !== "string") {
    if (body.length > STRING_CROSSING_MAX) {
      host.respond(exchangeId, status, headers, body);
      return;
    }
    body = bytesToBinary(body);
  }
  if (exchangeId === answerableInCall && body.length <= STRING_CROSSING_MAX) {
    answerableInCall = 0;
    answerInCall = exchangeId + "\n" + status + "\n" + headers + "\0" + body;
    return;
  }
  host.respondText(exchangeId, status, headers, body);
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function errorPage(requestId) {
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>500 Internal Server Error</title></head>
<body>
<h1>500 Internal Server Error</h1>
<p>The application threw an exception while handling this request.</p>
<p>Request ID: <code>${escapeHtml(requestId)}</code></p>
<hr><p>blueboat-edge</p>
</body></html>
`;
  return new Response(html, { status: 500, headers: { "content-type": "text/html; charset=utf-8" } });
}

function plainResponse(status, text) {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

const executionContext = Object.freeze({
  waitUntil(promise) {
    Promise.resolve(promise).catch((e) => logError(`waitUntil promise rejected: ${describe(e)}`));
  },
  passThroughOnException() {},
});

function handleRequest(ctx, method, url, headerFields, headerStart, body) {
  let request;
  try {
    request = incomingRequest(url, method, headerFields, headerStart, body);
  } catch (e) {
    // The client sent something the Request API cannot represent (e.g. a Host the URL parser refuses).
    send(ctx, plainResponse(400, `bad request: ${e && e.message ? String(e.message) : "unrepresentable request"}`));
    return;
  }
  let result;
  try {
    const entry = appModule && appModule.default;
    result = entry && typeof entry.fetch === "function" ? entry.fetch(request, App.env, executionContext) : Router.route(request);
  } catch (e) {
    failed(ctx, e);
    return;
  }
  // A handler that answers at once is answered in this same turn, without a trip through the
  // microtask queue; a promise (thenable) is awaited, as `await` would.
  if (result !== null && (typeof result === "object" || typeof result === "function") && typeof result.then === "function") {
    settle(ctx, result);
  } else {
    answer(ctx, result);
  }
}

async function settle(ctx, pending) {
  let response;
  try {
    response = await pending;
  } catch (e) {
    failed(ctx, e);
    return;
  }
  answer(ctx, response);
}

function answer(ctx, response) {
  if (!(response instanceof Response)) {
    failed(ctx, new TypeError(`the handler returned ${response === null ? "null" : typeof response} instead of a Response`));
    return;
  }
  send(ctx, response);
}

function failed(ctx, e) {
  enter(ctx);
  logError(`unhandled exception while handling request ${ctx.requestId}: ${describe(e)}`);
  send(ctx, errorPage(ctx.requestId));
}

/** Sends `response` for `ctx`, falling back to the 500 page if it cannot be sent as it is. */
function send(ctx, response) {
  if (!unanswered.has(ctx.exchangeId)) return; // answered already (abandoned)
  try {
    const wire = responseWireForm(response);
    if (wire.type === "error") throw new TypeError("the handler returned Response.error()");
    // A number, checked with the platform's own isInteger: the status goes on the wire as text.
    if (typeof wire.status !== "number" || !isInteger(wire.status) || !(wire.status >= 200 && wire.status <= 599)) throw new RangeError("invalid status");
    respond(ctx.exchangeId, wire.status, headerLinesText(wire.headers), wire.body);
    unanswered.delete(ctx.exchangeId);
    return;
  } catch (e) {
    enter(ctx);
    logError(`response for request ${ctx.requestId} could not be sent: ${describe(e)}`);
  }
  const page = responseWireForm(errorPage(ctx.requestId));
  unanswered.delete(ctx.exchangeId);
  respond(ctx.exchangeId, page.status, headerLinesText(page.headers), page.body);
}

/**
 * Called by the worker when a request has not been answered and nothing it started (a timer, an
 * I/O operation) is still pending: its handler's promise can never settle, so it gets the 500
 * page now instead of hanging the client.
 */
function abandon(exchangeId) {
  const ctx = unanswered.get(exchangeId);
  if (!ctx) return;
  enter(ctx);
  logError(`request ${ctx.requestId}: the handler's promise never settled and nothing it started is pending`);
  send(ctx, errorPage(ctx.requestId));
}
