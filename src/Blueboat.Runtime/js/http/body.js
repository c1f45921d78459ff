import { utf8Encode, TextDecoder, decodeBinary } from "../web/encoding.js";
import { binaryToBytes, isAscii, STRING_CROSSING_MAX } from "../binary.js";
import { URLSearchParams } from "../web/url.js";

const decoder = new TextDecoder();

const TEXT = "text/plain;charset=UTF-8";

/**
 * Turns a BodyInit into bytes (or, for an ASCII string, the string itself: it is its own UTF-8
 * binary string, so it needs no encoding unless its bytes are asked for) and the content type it
 * implies (null when none).
 */
export function extractBody(init) {
  if (init === null || init === undefined) return { bytes: null, binary: null, type: null };
  if (typeof init === "string") return isAscii(init) ? { bytes: null, binary: init, type: TEXT } : { bytes: utf8Encode(init), binary: null, type: TEXT };
  if (init instanceof ArrayBuffer) return { bytes: new Uint8Array(init.slice(0)), binary: null, type: null };
  if (ArrayBuffer.isView(init)) {
    return { bytes: new Uint8Array(init.buffer.slice(init.byteOffset, init.byteOffset + init.byteLength)), binary: null, type: null };
  }
  if (init instanceof URLSearchParams) {
    return { bytes: utf8Encode(init.toString()), binary: null, type: "application/x-www-form-urlencoded;charset=UTF-8" };
  }
  if (typeof init === "object" && typeof init.getReader === "function") {
    throw new TypeError("ReadableStream bodies are not supported yet; pass a string, ArrayBuffer or typed array");
  }
  return { bytes: utf8Encode(String(init)), binary: null, type: TEXT };
}

/**
 * The body half of Request and Response: the bytes are held whole (bodies are buffered), and
 * each may be read once.
 */
export class Body {
  #bytes;
  #binary; // an incoming body as it crossed from the host (one character per byte), until bytes are needed
  #used = false;

  constructor(bytes, binary = null) {
    this.#bytes = bytes;
    this.#binary = binary;
  }

  /** A body held as a binary string: text() and json() of ASCII content then need no conversion at all. */
  static fromBinary(binary) {
    return new Body(null, binary);
  }

  get used() {
    return this.#used;
  }

  get present() {
    return this.#bytes !== null || this.#binary !== null;
  }

  #materialize() {
    if (this.#bytes === null && this.#binary !== null) this.#bytes = binaryToBytes(this.#binary);
    return this.#bytes;
  }

  peek() {
    return this.#materialize();
  }

  take() {
    if (this.#used) throw new TypeError("Body has already been used");
    this.#used = true;
    return this.#materialize() || new Uint8Array(0);
  }

  /**
   * Takes the body for the wire: the binary string it is held as when it crosses to the host as
   * one (see binary.js), else its bytes.
   */
  takeWire() {
    if (this.#used) throw new TypeError("Body has already been used");
    if (this.#bytes === null && this.#binary !== null && this.#binary.length <= STRING_CROSSING_MAX) {
      this.#used = true;
      return this.#binary;
    }
    return this.take();
  }

  /** The text of a body still held as a binary string (and marks it used), else null. */
  #takeBinaryText() {
    if (this.#used || this.#binary === null || this.#bytes !== null) return null;
    this.#used = true;
    return decodeBinary(this.#binary);
  }

  async arrayBuffer() {
    const b = this.take();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }

  async bytes() {
    return new Uint8Array(this.take());
  }

  async text() {
    return this.#takeBinaryText() ?? decoder.decode(this.take());
  }

  async json() {
    return JSON.parse(this.#takeBinaryText() ?? decoder.decode(this.take()));
  }

  clone() {
    if (this.#used) throw new TypeError("Body has already been used");
    return new Body(this.#bytes, this.#binary);
  }
}
