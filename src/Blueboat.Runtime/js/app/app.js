import { host } from "../host.js";

let env = Object.freeze({});

/** Blueboat's `App` namespace: the app's env from its metadata. */
export const App = {
  get env() {
    return env;
  },
  mustGetEnv(key) {
    const v = env[key];
    if (typeof v !== "string") throw new Error(`missing env: ${key}`);
    return v;
  },
};

export function setEnv(values) {
  env = Object.freeze({ ...values });
}

/**
 * Blueboat's `Package`: every file of the app by relative path, as a Uint8Array. Files are copied
 * out of the host only when first read, so a large package costs nothing until used.
 */
export function buildPackage() {
  const pkg = {};
  const files = JSON.parse(host.packageList());
  for (const [path, size] of files) {
    Object.defineProperty(pkg, path, {
      enumerable: true,
      configurable: true,
      get() {
        const bytes = new Uint8Array(size);
        if (size > 0) host.packageRead(path, bytes);
        Object.defineProperty(pkg, path, { value: bytes, enumerable: true, writable: false, configurable: false });
        return bytes;
      },
    });
  }
  return Object.preventExtensions(pkg); // frozen per file as each is materialised
}
