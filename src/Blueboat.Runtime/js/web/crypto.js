import { host } from "../host.js";
import { bytesToBinary, binaryToBytes } from "../binary.js";

const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

function getRandomValues(array) {
  if (!INTEGER_ARRAYS.some((T) => array instanceof T)) {
    throw new TypeError("getRandomValues needs an integer TypedArray");
  }
  if (array.byteLength > 65536) {
    throw new RangeError(`getRandomValues: ${array.byteLength} bytes requested, at most 65536 allowed`);
  }
  if (array.byteLength > 0) host.randomFill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return array;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function randomUUID() {
  const b = getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => HEX[x]);
  return `${h[0]}${h[1]}${h[2]}${h[3]}-${h[4]}${h[5]}-${h[6]}${h[7]}-${h[8]}${h[9]}-${h.slice(10).join("")}`;
}

// SubtleCrypto.digest: the Web Crypto hash names, case-insensitive as the spec normalises them.
const DIGEST_LENGTHS = { "SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };

function bytesOf(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("digest: data must be an ArrayBuffer or an ArrayBufferView");
}

async function digest(algorithm, data) {
  const requested = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
  const name = typeof requested === "string" ? requested.toUpperCase() : "";
  const length = DIGEST_LENGTHS[name];
  if (!length) {
    // Workers throws a DOMException named NotSupportedError; this runtime has no DOMException.
    const e = new Error(`digest: unrecognised algorithm ${String(requested)}`);
    e.name = "NotSupportedError";
    throw e;
  }
  // Read now, as the spec does: the caller may change its buffer once we return.
  const out = binaryToBytes(host.digest(name, bytesToBinary(bytesOf(data))));
  if (out.length !== length) throw new Error(`digest: ${name} gave ${out.length} bytes`);
  return out.buffer;
}

const subtle = Object.freeze({ digest });

export const crypto = { getRandomValues, randomUUID, subtle };
