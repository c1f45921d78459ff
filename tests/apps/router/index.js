// Every Router rule the tests check, one route or middleware each.
const say = (name) => (req) => new Response(name);
Router.get("/", say("root-dir"));
Router.get("/a/x", say("a-x"));
Router.get("/a/*/z", say("a-star-z"));
Router.get("/a/y/z", say("a-y-z"));
Router.get("/static/", say("static-dir"));
Router.get("/b", say("b"));
Router.post("/b", say("b-post"));
Router.put("/b", say("b-put"));
Router.patch("/b", say("b-patch"));
Router.delete("/b", say("b-delete"));
Router.options("/b", say("b-options"));
Router.head("/h", () => new Response(null, { headers: { "x-head": "own" } }));
Router.any("/any", (req) => new Response("any-" + req.method));
Router.get("/:id", say("literal-colon"));
Router.get("/c/", say("c-dir"));
Router.get("/c/d", say("c-d"));
Router.get("/throws", () => { throw new Error("boom"); });
Router.get("/not-a-response", () => ({ status: 200 }));
Router.get("/async", async () => { await new Promise((r) => setTimeout(r, 5)); return new Response("later"); });
Router.post("/echo", async (req) => new Response(await req.text()));
Router.get("/get-body", async (req) => new Response("get-body:" + (req.body === null ? "none" : await req.text())));

// Middleware records itself on the request, so the trail is per request.
const mark = (name) => async (req, next) => {
  req.headers.set("x-trail", (req.headers.get("x-trail") ?? "") + "," + name);
  return next(req);
};
const trail = (req) => new Response((req.headers.get("x-trail") ?? "").slice(1));
Router.use("/", mark("root1"));
Router.use("/", mark("root2"));
Router.use("/m/", mark("m-dir"));
Router.use("/m", async (req, next) => { const r = await mark("m")(req, next); r.headers.set("x-mw", "m"); return r; });
Router.use("/m/inner", mark("inner"));
Router.get("/m/", trail);
Router.get("/m/inner", trail);
Router.get("/order", trail);
Router.setDebugPath("/__debug");
