// Headers per the Fetch Standard: names are case-insensitive tokens, values are trimmed and may
// not contain NUL, CR or LF; get() joins repeated values with ", " except that Set-Cookie lines
// stay apart (getSetCookie, iteration, and the wire).

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function normalizeName(name) {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Invalid header name: "${n}"`);
  return n.toLowerCase();
}

const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
// NUL, CR and LF, and characters above U+00FF: header values are byte strings. The wire forms
// between the runtime and the worker rely on values never holding LF (see RuntimeEvents.cs).
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;

const isWhitespace = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function normalizeValue(value) {
  let v = String(value);
  // Most values have nothing to trim; the trimming regex costs more than looking at both ends.
  if (v.length > 0 && (isWhitespace(v.charCodeAt(0)) || isWhitespace(v.charCodeAt(v.length - 1)))) v = v.replace(EDGE_WHITESPACE, "");
  if (BAD_VALUE.test(v)) throw new TypeError("Invalid header value");
  return v;
}

let listOf;
let setImmutable;
let pushValid;

export class Headers {
  #list = []; // [lowercase name, value], in insertion order
  #immutable = false;

  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [n, v] of init.#list) this.#list.push([n, v]);
    } else if (typeof init === "object" && typeof init[Symbol.iterator] === "function") {
      for (const pair of init) {
        const arr = Array.from(pair);
        if (arr.length !== 2) throw new TypeError("Each header pair must have exactly two items");
        this.append(arr[0], arr[1]);
      }
    } else if (typeof init === "object") {
      for (const key of Object.keys(init)) this.append(key, init[key]);
    } else {
      throw new TypeError("Headers init must be an object, an iterable of pairs, or Headers");
    }
  }

  #check() {
    if (this.#immutable) throw new TypeError("Headers are immutable");
  }

  append(name, value) {
    this.#check();
    this.#list.push([normalizeName(name), normalizeValue(value)]);
  }

  delete(name) {
    this.#check();
    const n = normalizeName(name);
    this.#list = this.#list.filter(([k]) => k !== n);
  }

  get(name) {
    const n = normalizeName(name);
    const values = [];
    for (const [k, v] of this.#list) if (k === n) values.push(v);
    return values.length ? values.join(", ") : null;
  }

  getSetCookie() {
    const out = [];
    for (const [k, v] of this.#list) if (k === "set-cookie") out.push(v);
    return out;
  }

  getAll(name) {
    // Workers' extension, kept for apps written against it
    const n = normalizeName(name);
    if (n !== "set-cookie") throw new TypeError("getAll() is only supported for Set-Cookie");
    return this.getSetCookie();
  }

  has(name) {
    const n = normalizeName(name);
    return this.#list.some(([k]) => k === n);
  }

  set(name, value) {
    this.#check();
    const n = normalizeName(name);
    const v = normalizeValue(value);
    const idx = this.#list.findIndex(([k]) => k === n);
    if (idx < 0) {
      this.#list.push([n, v]);
      return;
    }
    this.#list[idx] = [n, v];
    this.#list = this.#list.filter(([k], i) => k !== n || i === idx);
  }

  forEach(callback, thisArg = undefined) {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }

  *entries() {
    const names = [...new Set(this.#list.map(([k]) => k))].sort();
    for (const n of names) {
      if (n === "set-cookie") {
        for (const v of this.getSetCookie()) yield [n, v];
      } else {
        yield [n, this.get(n)];
      }
    }
  }

  *keys() {
    for (const [k] of this.entries()) yield k;
  }

  *values() {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  get [Symbol.toStringTag]() {
    return "Headers";
  }

  static {
    listOf = (h) => h.#list;
    pushValid = (h, name, value) => h.#list.push([name, value]);
    setImmutable = (h) => {
      h.#immutable = true;
      return h;
    };
  }
}

/** Header lines as they go on the wire: every line kept apart, in insertion order. */
export function headerLines(headers) {
  return listOf(headers);
}

/**
 * The header lines as the worker reads them (RuntimeEvents.ParseHeaderLines): names and values
 * alternating, joined by "\n", which neither can hold.
 */
export function headerLinesText(headers) {
  const list = listOf(headers);
  let text = "";
  for (let i = 0; i < list.length; i++) text += (i === 0 ? "" : "\n") + list[i][0] + "\n" + list[i][1];
  return text;
}

/** Headers from names and values alternating in `fields`, from index `start` on (a request event's fields). */
export function headersFromFields(fields, start) {
  const headers = new Headers();
  for (let i = start; i + 1 < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
  return headers;
}

/** Appends a line the platform made itself: a lowercase token name and a value already valid, so neither is checked again. */
export function appendValid(headers, name, value) {
  pushValid(headers, name, value);
}

export function freezeHeaders(headers) {
  return setImmutable(headers);
}
