namespace Blueboat.Runtime.Glue;

/// <summary>
/// Runs the runtime's request path once on throwaway objects, before any app is known: V8
/// compiles a function the first time it is called, so this moves that work (URL parsing,
/// Headers, Request, Response, a Router's registration and matching, body reading) from an app's
/// first request into the pre-started worker's idle time. It touches no state apps can see: the
/// router is a fresh instance, not the global one, and nothing is logged, timed or fetched.
/// </summary>
internal static class RuntimeWarmUp
{
    public const string Script = """
        (() => {
          const router = new Router.constructor();
          router.use("/", async (req, next) => next(req));
          router.get("/", () => new Response("warm", { headers: { "content-type": "text/plain; charset=utf-8" } }));
          router.get("/json", (req) => Response.json({ path: new URL(req.url).pathname }));
          router.post("/echo", async (req) => new Response(await req.arrayBuffer(), { status: 201 }));
          const headers = [["host", "warm.invalid"], ["accept", "*/*"], ["x-blueboat-request-id", "warm"]];
          const requests = [
            new Request("https://warm.invalid/?q=1&r=two", { method: "GET", headers }),
            new Request("https://warm.invalid/json", { method: "GET", headers: new Headers(headers) }),
            new Request("https://warm.invalid/echo", { method: "POST", headers, body: new TextEncoder().encode("{\"a\":1}") }),
            new Request("https://warm.invalid/missing", { method: "HEAD", headers }),
          ];
          for (const request of requests) {
            router.handle(request).then(async (response) => {
              response.headers.get("content-type");
              [...response.headers];
              await response.clone().text();
              new TextDecoder().decode(new Uint8Array(await response.arrayBuffer()));
            }, () => {});
          }
          new URLSearchParams("a=1&b=2").toString();
          JSON.parse(JSON.stringify({ env: {}, list: [1, "two"] }));
        })();
        """;

    public const string EntryModule = "import * as warm from \"./index.mjs\";\nwarm.default.answer();\n";

    public static Dictionary<string, byte[]> Modules() => new(StringComparer.Ordinal)
    {
        ["__warm__/index.mjs"] = "import { answer } from \"./lib/answer.mjs\";\nexport default { answer };\n"u8.ToArray(),
        ["__warm__/lib/answer.mjs"] = "export const answer = () => 42;\n"u8.ToArray(),
    };
}
