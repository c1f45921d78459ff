// The worker's entry into JS: one call per event from the host (a request is ready, a timer is
// due). Requests go to the app's `export default { fetch }` when it has one, else to the Router.
import { host } from "../host.js";
import { enter } from "./context.js";
import { App, setEnv } from "./app.js";
import { RouterImpl } from "../router/router.js";
import { incomingRequest } from "../http/request.js";
import { Response } from "../http/response.js";
import { headerLines } from "../http/headers.js";
import { fireTimer } from "../web/timers.js";
import { logError } from "../web/console.js";

export const Router = new RouterImpl();
let appModule = null;
const unanswered = new Map(); // exchange id -> request context, until the response is sent

const EVENT_REQUEST = 1;
const EVENT_TIMER = 2;
const EVENT_ABANDON = 3;

export function setAppModule(module, envValues) {
  appModule = module;
  setEnv(envValues);
}

export function dispatch() {
  const ev = JSON.parse(host.event());
  if (ev.kind === EVENT_REQUEST) {
    const body = ev.bodyLength > 0 ? new Uint8Array(ev.bodyLength) : null;
    if (body) host.eventBody(body);
    const ctx = { exchangeId: ev.id, requestId: ev.requestId };
    unanswered.set(ctx.exchangeId, ctx);
    enter(ctx);
    handleRequest(ctx, ev, body);
  } else if (ev.kind === EVENT_TIMER) {
    fireTimer(ev.id);
  } else if (ev.kind === EVENT_ABANDON) {
    abandon(ev.id);
  }
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

const executionContext = Object.freeze({
  waitUntil(promise) {
    Promise.resolve(promise).catch((e) => logError(`waitUntil promise rejected: ${e && e.stack ? e.stack : e}`));
  },
  passThroughOnException() {},
});

async function handleRequest(ctx, ev, body) {
  let response;
  try {
    const request = incomingRequest(ev.url, ev.method, ev.headers, body);
    const entry = appModule && appModule.default;
    if (entry && typeof entry.fetch === "function") {
      response = await entry.fetch(request, App.env, executionContext);
    } else {
      response = await Router.handle(request);
    }
    if (!(response instanceof Response)) {
      throw new TypeError(`the handler returned ${response === null ? "null" : typeof response} instead of a Response`);
    }
    if (response.type === "error") throw new TypeError("the handler returned Response.error()");
  } catch (e) {
    enter(ctx);
    logError(`unhandled exception while handling request ${ctx.requestId}: ${e && e.stack ? e.stack : e}`);
    response = errorPage(ctx.requestId);
  }
  let bytes;
  try {
    bytes = Response.takeBody(response);
  } catch (e) {
    logError(`response body could not be read: ${e && e.stack ? e.stack : e}`);
    response = errorPage(ctx.requestId);
    bytes = Response.takeBody(response);
  }
  if (!unanswered.delete(ctx.exchangeId)) return; // answered already (abandoned)
  host.respond(ctx.exchangeId, response.status, JSON.stringify(headerLines(response.headers)), bytes);
}

/**
 * Called by the worker when a request has not been answered and nothing it started (a timer, an
 * I/O operation) is still pending: its handler's promise can never settle, so it gets the 500
 * page now instead of hanging the client.
 */
function abandon(exchangeId) {
  const ctx = unanswered.get(exchangeId);
  if (!ctx) return;
  unanswered.delete(exchangeId);
  enter(ctx);
  logError(`request ${ctx.requestId}: the handler's promise never settled and nothing it started is pending`);
  const response = errorPage(ctx.requestId);
  host.respond(exchangeId, response.status, JSON.stringify(headerLines(response.headers)), Response.takeBody(response));
}
