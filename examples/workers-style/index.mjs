// The Workers module form: a default export with fetch(request, env, ctx).
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/") return new Response("hello from a Workers-style app");
    if (url.pathname === "/echo" && request.method === "POST") {
      return new Response(await request.text(), { headers: { "content-type": request.headers.get("content-type") ?? "text/plain" } });
    }
    return Response.json({ method: request.method, path: url.pathname, greeting: env.GREETING ?? null }, { status: 404 });
  },
};
