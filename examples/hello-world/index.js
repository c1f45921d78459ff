// A Blueboat Router app: `GET /` answers "hello world".
Router.get("/", () => new Response("hello world"));

Router.get("/json", (req) => {
  const url = new URL(req.url);
  return Response.json({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
});

Router.setDebugPath("/_routes");
