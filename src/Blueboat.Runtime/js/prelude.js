// Globals that bundled packages read while they initialise (whatwg-url keeps a module-level
// TextEncoder), so they must exist before any other module of the runtime is evaluated.
import { TextEncoder, TextDecoder } from "./web/encoding.js";

for (const [name, value] of Object.entries({ TextEncoder, TextDecoder })) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}
