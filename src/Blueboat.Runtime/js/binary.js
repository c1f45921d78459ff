// Bytes cross between JS and the host as "binary strings" (one character per byte) up to
// STRING_CROSSING_MAX: ClearScript hands a string over far faster than a typed array (measured
// under AOT: about 13 µs for each typed-array argument, most of a hello-world dispatch).
export const STRING_CROSSING_MAX = 64 * 1024;
const CHUNK = 8192; // arguments per fromCharCode call

export function bytesToBinary(bytes) {
  if (bytes.length <= CHUNK) return String.fromCharCode.apply(null, bytes);
  let s = "";
  for (let i = 0; i < bytes.length; i += CHUNK) s += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  return s;
}

export function binaryToBytes(s) {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const ASCII = /^[\x00-\x7f]*$/;

/** True when every character is below 0x80: such a binary string is its own UTF-8 decoding (and encoding). */
export function isAscii(s) {
  return ASCII.test(s);
}
