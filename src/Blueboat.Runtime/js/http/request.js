import { Headers, headersFromFields } from "./headers.js";
import { Body, extractBody } from "./body.js";
import { serializeUrl } from "../web/url.js";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);
const FORBIDDEN = new Set(["CONNECT", "TRACE", "TRACK"]);
let incoming = false; // set while the platform builds the Request of an incoming HTTP request

function normalizeMethod(m) {
  if (NORMALIZED.has(m)) return m; // already a normalized method name (every incoming GET, POST, ...)
  const method = String(m);
  if (!TOKEN.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method`);
  const upper = method.toUpperCase();
  if (FORBIDDEN.has(upper) && !incoming) throw new TypeError(`'${method}' HTTP method is unsupported`);
  return NORMALIZED.has(upper) ? upper : method;
}

export class Request {
  #url;
  #method;
  #headers;
  #body;
  #redirect;
  #signal;
  #cf;

  constructor(input, init = {}) {
    init = init ?? {};
    let source = null;
    if (input instanceof Request) {
      source = input;
      this.#url = input.url;
      this.#method = input.method;
    } else {
      try {
        this.#url = serializeUrl(input);
      } catch {
        throw new TypeError(`Invalid URL: ${String(input)}`);
      }
      this.#method = "GET";
    }
    if (init.method !== undefined) this.#method = normalizeMethod(init.method);
    // An incoming request's Headers were built for it alone (incomingRequest): no copy needed.
    this.#headers = incoming && init.headers instanceof Headers ? init.headers : new Headers(init.headers !== undefined ? init.headers : source ? source.headers : undefined);
    this.#redirect = init.redirect ?? (source ? source.redirect : "follow");
    this.#signal = init.signal ?? (source ? source.signal : null);
    this.#cf = init.cf ?? (source ? source.cf : undefined);

    if (incoming && init.body instanceof Body) {
      this.#body = init.body; // built for this request alone (incomingRequest): no copy needed
    } else if (init.body !== undefined && init.body !== null) {
      if ((this.#method === "GET" || this.#method === "HEAD") && !incoming) {
        throw new TypeError("Request with GET/HEAD method cannot have body.");
      }
      const { bytes, binary, type } = extractBody(init.body);
      this.#body = new Body(bytes, binary);
      if (type && !this.#headers.has("content-type")) this.#headers.set("content-type", type);
    } else if (source) {
      this.#body = source.#body.clone();
    } else {
      this.#body = new Body(null);
    }
  }

  get url() { return this.#url; }
  get method() { return this.#method; }
  get headers() { return this.#headers; }
  get redirect() { return this.#redirect; }
  get signal() { return this.#signal; }
  get cf() { return this.#cf; }
  get bodyUsed() { return this.#body.used; }
  get body() { return this.#body.present ? this.#body.peek() : null; }

  arrayBuffer() { return this.#body.arrayBuffer(); }
  bytes() { return this.#body.bytes(); }
  text() { return this.#body.text(); }
  json() { return this.#body.json(); }
  async formData() { throw new TypeError("Request.formData() is not supported"); }
  async blob() { throw new TypeError("Request.blob() is not supported"); }

  clone() {
    if (this.bodyUsed) throw new TypeError("Cannot clone a Request whose body has been used");
    return new Request(this);
  }

  get [Symbol.toStringTag]() { return "Request"; }
}

/**
 * The Request an app receives for an incoming HTTP request, its headers the names and values
 * alternating in `fields` from `start` on. Unlike `new Request`, a GET or HEAD that arrived with a
 * body is not an error: the platform accepts what the client sent. `body` is a Body or null.
 */
export function incomingRequest(url, method, fields, start, body) {
  const headers = headersFromFields(fields, start);
  incoming = true;
  try {
    return new Request(url, { method, headers, body });
  } finally {
    incoming = false;
  }
}
