// Blueboat's Router, with its matching rules kept exactly: literal segments, a single-segment
// `*`, trailing-slash directory handlers as the fallback of their level (no backtracking), HEAD
// falling back to GET, and 404 `not found`. Fixed on purpose: a directory's middleware runs once
// on a directory request, an empty intermediate segment (`//`) or an unknown method is an
// ordinary miss instead of an exception.
import { Response } from "../http/response.js";
import { pathnameOf } from "../web/url.js";

const METHODS = ["get", "head", "post", "put", "patch", "delete", "options"];

class Node {
  children = new Map();
  handlers = new Map(); // lower-case method -> handler
  middlewares = [];
}

function notFound() {
  return new Response("not found", { status: 404 });
}

export class RouterImpl {
  #root = new Node();
  #routes = [];

  #node(path) {
    if (typeof path !== "string" || !path.startsWith("/")) throw new Error("path must start with '/'");
    const segs = path.split("/");
    let n = this.#root;
    for (let i = 1; i < segs.length; i++) {
      const seg = segs[i];
      if (seg === "" && i !== segs.length - 1) throw new Error("intermediate path segment must not be empty");
      let next = n.children.get(seg);
      if (!next) {
        next = new Node();
        n.children.set(seg, next);
      }
      n = next;
    }
    return n;
  }

  #register(method, path, handler) {
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    this.#node(path).handlers.set(method, handler);
    this.#routes = this.#routes.filter((r) => !(r.method === method && r.path === path));
    this.#routes.push({ method: method.toUpperCase(), path });
    return this;
  }

  get(path, h) { return this.#register("get", path, h); }
  head(path, h) { return this.#register("head", path, h); }
  post(path, h) { return this.#register("post", path, h); }
  put(path, h) { return this.#register("put", path, h); }
  patch(path, h) { return this.#register("patch", path, h); }
  delete(path, h) { return this.#register("delete", path, h); }
  options(path, h) { return this.#register("options", path, h); }

  any(path, h) {
    for (const m of ["get", "put", "post", "patch", "delete", "options"]) this.#register(m, path, h);
    return this;
  }

  use(path, middleware) {
    if (typeof middleware !== "function") throw new TypeError("middleware must be a function");
    this.#node(path).middlewares.push(middleware);
    return this;
  }

  setDebugPath(path) {
    return this.get(path, () => {
      const routes = [...this.#routes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return new Response(JSON.stringify({ routes }, null, 2), { headers: { "content-type": "application/json" } });
    });
  }

  get hasRoutes() {
    return this.#routes.length > 0 || this.#root.middlewares.length > 0 || this.#root.children.size > 0;
  }

  /** Finds the node for `pathname` and the middleware arrays met on the way (outermost last). */
  lookup(pathname) {
    const segs = pathname.split("/");
    let n = this.#root;
    const mw = [];
    for (let i = 1; i < segs.length; i++) {
      const seg = segs[i];
      const last = i === segs.length - 1;
      const dir = n.children.get("");
      const next = seg === "" && !last ? undefined : n.children.get(seg) ?? (seg === "" ? undefined : n.children.get("*"));
      if (dir && dir.middlewares.length && dir !== next) mw.push(dir.middlewares);
      if (!next) {
        if (dir) {
          n = dir;
          break;
        }
        return null;
      }
      if (next.middlewares.length) mw.push(next.middlewares);
      n = next;
    }
    mw.reverse();
    return { node: n, middlewares: mw };
  }

  /** Routes one request to its handler through its middleware; always yields a Response (or throws). */
  async handle(request) {
    return this.route(request);
  }

  /**
   * What `handle` does, without forcing a promise: the handler's own result (a Response, or a
   * promise of one) is returned as it is, so the platform can answer a synchronous handler at once.
   */
  route(request) {
    const found = this.lookup(pathnameOf(request.url));
    if (!found) return notFound();
    const method = request.method.toLowerCase();
    let handler = found.node.handlers.get(method);
    if (!handler && method === "head") handler = found.node.handlers.get("get");
    if (!handler || !METHODS.includes(method)) return notFound();

    let call = (req) => handler(req);
    for (const level of found.middlewares) {
      for (const m of level) {
        const inner = call;
        call = (req) => m(req, inner);
      }
    }
    return call(request);
  }
}
