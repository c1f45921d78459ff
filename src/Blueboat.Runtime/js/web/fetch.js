// fetch(): workers have no network, so the request travels to the supervisor, which performs it
// under the outbound policy (no private or loopback addresses unless allowed) and sends back the
// whole response.
import { host } from "../host.js";
import { currentContext, enter } from "../app/context.js";
import { Request } from "../http/request.js";
import { Response, fetchedResponse } from "../http/response.js";
import { headerLines } from "../http/headers.js";

const { stringify } = JSON;
const pending = new Map(); // fetch id -> { resolve, reject, ctx }
let nextId = 1;

export async function fetch(input, init = undefined) {
  const request = new Request(input, init);
  const body = request.body === null ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
  const ctx = currentContext();
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, ctx });
    const description = { method: request.method, url: request.url, redirect: request.redirect, headers: headerLines(request.headers) };
    try {
      host.fetchStart(id, ctx ? ctx.exchangeId : 0, stringify(description), body);
    } catch (e) {
      pending.delete(id);
      reject(new TypeError(`fetch failed: ${e && e.message ? e.message : e}`));
    }
  });
}

/** Called by the dispatcher when the supervisor answered fetch `ev.id`. */
export function fetchDone(ev, bodyBytes) {
  const p = pending.get(ev.id);
  if (!p) return;
  pending.delete(ev.id);
  enter(p.ctx);
  if (ev.error !== undefined) {
    p.reject(new TypeError(ev.error));
    return;
  }
  const nullBody = ev.status === 204 || ev.status === 205 || ev.status === 304;
  let response;
  try {
    response = new Response(nullBody ? null : bodyBytes || new Uint8Array(0), { status: ev.status < 200 ? 200 : ev.status, statusText: ev.statusText, headers: ev.headers });
  } catch (e) {
    p.reject(new TypeError(`fetch: the response could not be represented: ${e.message}`));
    return;
  }
  p.resolve(fetchedResponse(response, ev.url, ev.redirected));
}
