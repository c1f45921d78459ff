import { Headers, appendValid } from "./headers.js";
import { Body, extractBody } from "./body.js";
import { URL } from "../web/url.js";

// Captured before app code runs: an app that replaces Number cannot give a Response a status
// that is not a plain integer (the dispatcher writes it out as text).
const toNumber = Number;
const { isInteger } = Number;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class Response {
  #status;
  #statusText;
  #headers;
  #body;
  #type = "default";
  #url = "";
  #redirected = false;

  constructor(body = null, init = {}) {
    init = init ?? {};
    const status = init.status === undefined ? 200 : toNumber(init.status);
    if (!isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Failed to construct 'Response': The status provided (${init.status}) is outside the range [200, 599].`);
    }
    this.#status = status;
    this.#statusText = init.statusText === undefined ? "" : String(init.statusText);
    this.#headers = new Headers(init.headers);
    if (body !== null && body !== undefined && NULL_BODY.has(status)) {
      throw new TypeError(`Response with null body status (${status}) cannot have body`);
    }
    const { bytes, binary, type } = extractBody(body);
    this.#body = new Body(bytes, binary);
    if (type) {
      // Headers made here from nothing have no content-type yet: the platform's own is added as it is.
      if (init.headers === undefined || init.headers === null) appendValid(this.#headers, "content-type", type);
      else if (!this.#headers.has("content-type")) this.#headers.set("content-type", type);
    }
  }

  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Response.json: value is not JSON-serialisable");
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(text, { ...init, headers });
  }

  static redirect(url, status = 302) {
    if (!REDIRECTS.has(status)) throw new RangeError(`Invalid status code ${status} for a redirect`);
    const r = new Response(null, { status, headers: { location: new URL(String(url)).href } });
    return r;
  }

  static error() {
    const r = new Response(null, { status: 200 });
    r.#status = 0;
    r.#type = "error";
    return r;
  }

  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get headers() { return this.#headers; }
  get type() { return this.#type; }
  get url() { return this.#url; }
  get redirected() { return this.#redirected; }
  get bodyUsed() { return this.#body.used; }
  get body() { return this.#body.present ? this.#body.peek() : null; }

  arrayBuffer() { return this.#body.arrayBuffer(); }
  bytes() { return this.#body.bytes(); }
  text() { return this.#body.text(); }
  json() { return this.#body.json(); }
  async formData() { throw new TypeError("Response.formData() is not supported"); }
  async blob() { throw new TypeError("Response.blob() is not supported"); }

  clone() {
    if (this.bodyUsed) throw new TypeError("Cannot clone a Response whose body has been used");
    const r = new Response(null, { status: this.#status === 0 ? 200 : this.#status, statusText: this.#statusText, headers: this.#headers });
    r.#status = this.#status;
    r.#type = this.#type;
    r.#body = this.#body.clone();
    return r;
  }

  get [Symbol.toStringTag]() { return "Response"; }

  static {
    fetched = (r, url, redirected) => {
      r.#url = url;
      r.#redirected = redirected;
      r.#type = "basic";
      return r;
    };
    // Read through private fields, so an app that redefines `status` or `headers` on its
    // response object cannot feed the dispatcher values the platform never validated.
    wireForm = (r) => ({
      status: r.#status,
      type: r.#type,
      headers: r.#headers,
      body: r.#body.present && !r.#body.used ? r.#body.takeWire() : "",
    });
  }
}

let wireForm;
let fetched;

/** Marks a Response as the result of a fetch: its final URL and whether redirects were followed. */
export function fetchedResponse(r, url, redirected) {
  return fetched(r, url, redirected);
}

/** What the dispatcher sends for a Response: its own status, headers and body (taken once; bytes, or a binary string). */
export function responseWireForm(r) {
  return wireForm(r);
}
