// Reports what the app sees and does what the end-to-end tests need from app code.
const bootId = crypto.randomUUID(); // one per worker process: tells tests which worker answered

Router.get("/", () => new Response("inspect app"));

Router.any("/echo", async (req) => {
  const url = new URL(req.url);
  const headers = {};
  for (const [k, v] of req.headers) headers[k] = v;
  return Response.json({ url: req.url, method: req.method, path: url.pathname, search: url.search, headers, body: await req.text() });
});

Router.get("/cookies", () => {
  const h = new Headers();
  h.append("set-cookie", "a=1; Path=/");
  h.append("set-cookie", "b=2; Path=/");
  h.set("x-blueboat-request-id", "forged");
  h.set("x-blueboat-handle-latency", "0");
  h.set("x-blueboat-anything", "forged");
  h.set("x-app", "kept");
  return new Response("cookies", { headers: h });
});

Router.get("/log", () => {
  console.log("hello from the app", { n: 1 });
  console.warn("careful");
  console.error("bad things");
  return new Response("logged");
});

Router.get("/boot-id", () => new Response(bootId));

Router.get("/sleep", async (req) => {
  const ms = Number(new URL(req.url).searchParams.get("ms") ?? "100");
  await new Promise((r) => setTimeout(r, ms));
  return new Response(bootId);
});

// A fixed amount of CPU work (not of wall time), so the cost is the same on a busy machine.
Router.get("/spin", (req) => {
  const n = Number(new URL(req.url).searchParams.get("n") ?? "100000000");
  let x = 1;
  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
  return new Response(String(x === 0.5 ? 0 : n));
});

// Waits ten minutes on a timer: in flight for as long as a test needs (e.g. to kill the worker under it).
Router.get("/hang", () => new Promise((resolve) => setTimeout(() => resolve(new Response("late")), 600_000)));

// A promise nothing will ever settle: the worker notices and answers 500 instead of hanging.
Router.get("/never", () => new Promise(() => {}));

Router.get("/throw", () => {
  throw new Error("secret detail that must not reach the client");
});

Router.post("/size", async (req) => new Response(String((await req.arrayBuffer()).byteLength)));

Router.get("/not-modified", () => new Response(null, { status: 304, headers: { etag: '"v1"' } }));

// Hostile handlers for the limit tests.
Router.get("/loop", () => { for (;;) {} });
// Answers at once, then spins in a timer: JS outside any open request, still under the CPU limit.
Router.get("/spin-after-answer", () => {
  setTimeout(() => { for (;;) {} }, 10);
  return new Response("answered");
});
// Headers that would steer the client's connection: the platform strips them.
Router.get("/connection-headers", () => new Response("steered", {
  headers: { connection: "close, upgrade", upgrade: "h2c", "keep-alive": "timeout=1", "proxy-authenticate": "Basic", "x-kept": "yes" },
}));
// A response head far larger than any client accepts.
// Sends the request's X-In header back as X-Echo (non-ASCII text must keep its bytes both ways).
Router.get("/echo-header", (request) => {
  const value = request.headers.get("x-in") ?? "";
  return new Response(value, { headers: { "x-echo": value } });
});
Router.get("/huge-header", () => new Response("big", { headers: { "x-big": "a".repeat(200 * 1024) } }));
Router.get("/alloc", () => {
  const hoard = [];
  for (;;) hoard.push(new Array(100000).fill(hoard.length));
});
// Keeps about 1 MB more on every request: a leak that no single request makes large.
const leaked = [];
Router.get("/leak", () => {
  leaked.push(new Array(125000).fill(leaked.length + 0.5));
  return new Response(String(leaked.length));
});
// Keeps ?mb= megabytes more on every request, in one go (an async handler: its answer comes in a microtask).
const held = [];
Router.get("/hold", async (request) => {
  const mb = Number(new URL(request.url).searchParams.get("mb"));
  held.push(new Array(mb * 131072).fill(held.length + 0.5));
  return new Response(`holding ${held.length}`);
});
// Answers at once, then keeps the CPU busy in a microtask of the same turn.
Router.get("/answer-then-spin", () => {
  queueMicrotask(() => { const end = Date.now() + 3000; while (Date.now() < end); });
  return new Response("answered");
});
// Makes about 400 MB of garbage in one go, never holding more than a few MB of it.
Router.get("/churn", () => {
  let sum = 0;
  for (let i = 0; i < 1000; i++) sum += new Array(50000).fill(i + 0.5).length;
  return new Response(String(sum));
});
Router.get("/slow-answer", async () => { await new Promise((r) => setTimeout(r, 5000)); return new Response("too late"); });

// Fetches the URL given as ?url= and reports what came back (or the error).
Router.get("/fetch", async (req) => {
  const target = new URL(req.url).searchParams.get("url");
  try {
    const r = await fetch(target, { headers: { "x-from-app": "inspect" } });
    return Response.json({ status: r.status, body: await r.text(), url: r.url, type: r.headers.get("content-type") });
  } catch (e) {
    return Response.json({ error: String(e.message) }, { status: 502 });
  }
});

Router.get("/arraybuffers", () => {
  const hoard = [];
  for (;;) hoard.push(new ArrayBuffer(1 << 20));
});

// Blocks the JS thread without using CPU (no CPU limit can stop it): ?ms= long, or for ever.
Router.get("/block", (req) => {
  const ms = Number(new URL(req.url).searchParams.get("ms") ?? "Infinity");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return new Response("woke");
});
