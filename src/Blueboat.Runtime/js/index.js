// The runtime layer every worker evaluates before an app: the Web APIs and Blueboat namespaces
// apps see as globals, and the internal entry points the worker calls.
import "./prelude.js";
import { TextEncoder, TextDecoder } from "./web/encoding.js";
import { console } from "./web/console.js";
import { setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask } from "./web/timers.js";
import { crypto } from "./web/crypto.js";
import { URL, URLSearchParams } from "./web/url.js";
import { Headers } from "./http/headers.js";
import { Request } from "./http/request.js";
import { Response } from "./http/response.js";
import { App, buildPackage } from "./app/app.js";
import { Router, dispatch, setAppModule } from "./app/dispatch.js";

const define = (name, value) =>
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });

define("self", globalThis);
for (const [name, value] of Object.entries({
  TextEncoder, TextDecoder, console, setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask,
  crypto, URL, URLSearchParams, Headers, Request, Response, App, Router,
})) {
  define(name, value);
}

// Internal entry points, called by the worker (not part of the app-facing API).
define("__bb_dispatch", dispatch);
define("__bb_bootstrap", (envJson) => {
  define("Package", buildPackage());
  setAppModule(null, JSON.parse(envJson));
});
define("__bb_set_app_module", (module) => setAppModule(module, App.env));
