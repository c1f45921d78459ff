// TextEncoder / TextDecoder, UTF-8 only (as the Encoding Standard requires of TextEncoder, and as
// Workers does for TextDecoder). Written here because V8 has no encoder and the work is small.

import { host } from "../host.js";
import { STRING_CROSSING_MAX, binaryToBytes, bytesToBinary, isAscii } from "../binary.js";

// Inputs this long or longer are converted by the host's vectorised UTF-8 codec (measured: the
// loops below cost several times more for a 2 KB JSON body); shorter ones stay here, below the
// cost of a host call.
const HOST_CODEC_MIN = 512;

export function utf8Encode(str) {
  const s = String(str);
  if (isAscii(s)) return binaryToBytes(s); // the common case (JSON, HTML): no encoding to do
  if (s.length >= HOST_CODEC_MIN && s.length <= STRING_CROSSING_MAX) return binaryToBytes(host.utf8Encode(s));
  const out = new Uint8Array(s.length * 3);
  const n = encodeInto(s, out).written;
  return out.slice(0, n);
}

function encodeInto(s, dest) {
  let read = 0, written = 0;
  const len = s.length, cap = dest.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    let units = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        units = 2;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
    if (c < 0x80) {
      if (written + 1 > cap) break;
      dest[written++] = c;
    } else if (c < 0x800) {
      if (written + 2 > cap) break;
      dest[written++] = 0xc0 | (c >> 6);
      dest[written++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      if (written + 3 > cap) break;
      dest[written++] = 0xe0 | (c >> 12);
      dest[written++] = 0x80 | ((c >> 6) & 63);
      dest[written++] = 0x80 | (c & 63);
    } else {
      if (written + 4 > cap) break;
      dest[written++] = 0xf0 | (c >> 18);
      dest[written++] = 0x80 | ((c >> 12) & 63);
      dest[written++] = 0x80 | ((c >> 6) & 63);
      dest[written++] = 0x80 | (c & 63);
    }
    read += units;
    if (units === 2) i++;
  }
  return { read, written };
}

export class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    return utf8Encode(input);
  }
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw new TypeError("encodeInto needs a Uint8Array");
    return encodeInto(String(source), destination);
  }
}

const LABELS = new Set(["utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"]);

/** Decodes UTF-8 held as a binary string (one character per byte), as Body.text() must (a BOM is dropped). */
export function decodeBinary(binary) {
  if (isAscii(binary)) return binary;
  return new TextDecoder().decode(binaryToBytes(binary));
}

export function toBytes(input) {
  if (input === undefined || input === null) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer || input instanceof SharedArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("expected an ArrayBuffer or an ArrayBuffer view");
}

export class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = [];
  #bomSeen = false;

  constructor(label = "utf-8", options = {}) {
    if (!LABELS.has(String(label).trim().toLowerCase())) throw new RangeError(`The encoding label provided ('${label}') is not supported`);
    this.#fatal = Boolean(options && options.fatal);
    this.#ignoreBOM = Boolean(options && options.ignoreBOM);
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  decode(input, options = {}) {
    let bytes = toBytes(input);
    if (this.#pending.length) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = [];
    }
    const stream = Boolean(options && options.stream);
    const { text, rest } = decodeUtf8(bytes, this.#fatal, stream);
    if (stream) this.#pending = Array.from(rest);
    let out = text;
    if (!this.#ignoreBOM && !this.#bomSeen && out.length > 0) {
      if (out.charCodeAt(0) === 0xfeff) out = out.slice(1);
      this.#bomSeen = true;
    }
    if (!stream) this.#bomSeen = false;
    return out;
  }
}

// Decodes UTF-8 per the Encoding Standard (maximal subpart replacement). With `stream`, an
// incomplete sequence at the end is returned in `rest` instead of being replaced.
function decodeUtf8(bytes, fatal, stream) {
  if (bytes.length <= STRING_CROSSING_MAX && (bytes.length >= HOST_CODEC_MIN || !stream)) {
    const binary = bytesToBinary(bytes);
    if (isAscii(binary)) return { text: binary, rest: new Uint8Array(0) }; // ASCII is complete UTF-8 as it is
    if (!fatal && !stream && bytes.length >= HOST_CODEC_MIN) return { text: host.utf8Decode(binary), rest: new Uint8Array(0) };
  }
  let out = "";
  const parts = [];
  let codes = [];
  const len = bytes.length;
  let i = 0;
  const flush = () => {
    if (codes.length) {
      parts.push(String.fromCharCode.apply(null, codes));
      codes = [];
    }
  };
  const bad = () => {
    if (fatal) throw new TypeError("The encoded data was not valid for encoding utf-8");
    codes.push(0xfffd);
  };
  while (i < len) {
    const b = bytes[i];
    if (b < 0x80) {
      codes.push(b);
      i++;
    } else {
      let need, cp, lower = 0x80, upper = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
      else if (b >= 0xe0 && b <= 0xef) {
        need = 2; cp = b & 0xf;
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3; cp = b & 0x7;
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
      } else { bad(); i++; continue; }
      let j = 1;
      let ok = true;
      for (; j <= need; j++) {
        if (i + j >= len) { ok = false; break; }
        const c = bytes[i + j];
        const lo = j === 1 ? lower : 0x80, hi = j === 1 ? upper : 0xbf;
        if (c < lo || c > hi) { ok = false; break; }
        cp = (cp << 6) | (c & 0x3f);
      }
      if (!ok) {
        if (i + j >= len && stream) {
          flush();
          return { text: parts.join(""), rest: bytes.subarray(i) };
        }
        bad();
        i += j; // maximal subpart: skip the valid prefix we consumed
        continue;
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        codes.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else codes.push(cp);
      i += need + 1;
    }
    if (codes.length > 8192) flush();
  }
  flush();
  out = parts.join("");
  return { text: out, rest: new Uint8Array(0) };
}
