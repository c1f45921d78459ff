// The runtime layer every worker evaluates before an app: the Web APIs and Blueboat namespaces
// apps see as globals, and the internal entry points the worker calls.
import "./prelude.js";
import { TextEncoder, TextDecoder } from "./web/encoding.js";
import { console } from "./web/console.js";
import { setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask } from "./web/timers.js";
import { crypto } from "./web/crypto.js";
import { fetch } from "./web/fetch.js";
import { URL, URLSearchParams } from "./web/url.js";
import { Headers } from "./http/headers.js";
import { Request } from "./http/request.js";
import { Response } from "./http/response.js";
import { App, buildPackage } from "./app/app.js";
import { Router, dispatch, takeAnswer, setAppModule } from "./app/dispatch.js";
import { host } from "./host.js";

const define = (name, value) =>
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });

define("self", globalThis);
for (const [name, value] of Object.entries({
  TextEncoder, TextDecoder, console, setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask,
  crypto, fetch, URL, URLSearchParams, Headers, Request, Response, App, Router,
})) {
  define(name, value);
}

// Internal entry points the worker calls; apps can neither replace them nor call the one-shot ones.
const internal = (name, value, configurable = false) =>
  Object.defineProperty(globalThis, name, { value, writable: false, configurable, enumerable: false });

internal("__bb_dispatch", dispatch, true); // the host takes these two, then deletes them (JsEngine)
internal("__bb_take_answer", takeAnswer, true);

// Called once, before any app code runs: the env, the Package global, and the token the entry
// module must present to hand over the app's module namespace.
internal("__bb_bootstrap", (envJson, token) => {
  delete globalThis.__bb_bootstrap;
  define("Package", buildPackage());
  setAppModule(null, JSON.parse(envJson));
  let done = false;
  internal("__bb_set_app_module", (module, presented) => {
    if (done || presented !== token) throw new Error("__bb_set_app_module is internal to the platform");
    done = true;
    setAppModule(module, App.env);
    host.appReady();
  });
}, true);
