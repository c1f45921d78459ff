namespace Blueboat.Tests.Runtime;

/// <summary>
/// Requests and responses cross between the worker and the runtime as fields joined by "\n"; what
/// that form cannot carry goes as JSON or is refused, and never arrives mis-split.
/// </summary>
public class WireFormTests
{
    private const string EchoApp = """
        export default { fetch: (request) => Response.json({ url: request.url, method: request.method, headers: [...request.headers] }) };
        """;

    private static System.Text.Json.JsonElement Json(RuntimeHarness.Response r)
    {
        Assert.True(r.Status == 200, r.Text);
        return System.Text.Json.JsonDocument.Parse(r.Text).RootElement;
    }

    [Fact]
    public void ManyEmptyAndNonAsciiRequestHeadersArriveIntact()
    {
        using var h = new RuntimeHarness(EchoApp);
        var sent = Enumerable.Range(0, 200).Select(i => new KeyValuePair<string, string>($"x-h{i:000}", i % 4 == 0 ? "" : $"v{i}")).ToList();
        sent.Add(new("x-latin", "café ÿ"));
        var r = Json(h.Send("PATCH", "/p?q=1&r=%20", sent));
        Assert.Equal("https://example.com/p?q=1&r=%20", r.GetProperty("url").GetString());
        Assert.Equal("PATCH", r.GetProperty("method").GetString());
        var got = r.GetProperty("headers").EnumerateArray().ToDictionary(e => e[0].GetString()!, e => e[1].GetString()!);
        foreach (var (name, value) in sent) Assert.Equal(value, got[name]);
        Assert.Equal("example.com", got["host"]);
    }

    [Fact]
    public void AHeaderValueWithNewlinesAtItsEndsComesAsJsonAndIsTrimmed()
    {
        using var h = new RuntimeHarness(EchoApp);
        var r = Json(h.Send("GET", "/", [new("x-a", "\n padded \n"), new("x-b", "after")]));
        var got = r.GetProperty("headers").EnumerateArray().ToDictionary(e => e[0].GetString()!, e => e[1].GetString()!);
        Assert.Equal("padded", got["x-a"]);
        Assert.Equal("after", got["x-b"]);
    }

    [Fact]
    public void AHeaderValueWithANewlineInsideIsABadRequest()
    {
        using var h = new RuntimeHarness(EchoApp);
        var r = h.Send("GET", "/", [new("x-a", "a\nb")]);
        Assert.Equal(400, r.Status);
        Assert.Contains("bad request", r.Text);
        Assert.Equal(200, h.Get("/next").Status);
    }

    [Fact]
    public void AUrlWithANewlineComesAsJson()
    {
        using var h = new RuntimeHarness(EchoApp);
        // The URL parser drops newlines, as it does for any URL.
        Assert.Equal("https://example.com/ab", Json(h.Send("GET", "/a\nb")).GetProperty("url").GetString());
    }

    [Fact]
    public void ManyEmptyAndLatin1ResponseHeadersArriveIntact()
    {
        using var h = new RuntimeHarness("""
            export default { fetch() {
              const headers = new Headers();
              for (let i = 0; i < 100; i++) headers.append("set-cookie", `c${i}=${i}`);
              headers.append("x-empty", "");
              headers.append("x-latin", "caf\u00e9 \u00ff");
              headers.append("x-trimmed", "\n v \n");
              return new Response("ok", { headers });
            } };
            """);
        var r = h.Get("/");
        Assert.Equal(200, r.Status);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"c{i}={i}"), r.Headers.Where(x => x.Key == "set-cookie").Select(x => x.Value));
        Assert.Equal("", r.Header("x-empty"));
        Assert.Equal("café ÿ", r.Header("x-latin"));
        Assert.Equal("v", r.Header("x-trimmed"));
        Assert.Equal("text/plain;charset=UTF-8", r.Header("content-type"));
    }

    [Fact]
    public void AResponseWithoutHeadersHasNone()
    {
        using var h = new RuntimeHarness("""export default { fetch: () => new Response(null, { status: 204 }) };""");
        var r = h.Get("/");
        Assert.Equal(204, r.Status);
        Assert.Empty(r.Headers);
    }

    [Theory]
    [InlineData("a\\nb")]
    [InlineData("a\\rb")]
    [InlineData("a\\0b")]
    public void AResponseHeaderValueWithCrLfOrNulIsRefused(string value)
    {
        using var h = new RuntimeHarness($$"""
            let error = null;
            try { new Headers({ "x-a": "{{value}}" }); } catch (e) { error = e; }
            export default { fetch() {
              if (!(error instanceof TypeError)) return new Response("not refused");
              return new Response("x", { headers: { "x-a": "{{value}}" } });
            } };
            """);
        var r = h.Get("/");
        Assert.Equal(500, r.Status);
        Assert.Contains(h.Logs, l => l.Message.Contains("Invalid header value"));
    }

    [Fact]
    public void ReplacingStringMethodsDoesNotBreakThePlatform()
    {
        using var h = new RuntimeHarness("""
            String.prototype.split = () => ["2", "0"];
            String.prototype[Symbol.split] = () => ["2", "0"];
            Function.prototype.call = () => { throw new Error("call"); };
            export default { fetch: (request) => new Response(request.headers.get("x-a"), { headers: { "x-h": "v" } }) };
            """);
        var r = h.Send("GET", "/", [new("x-a", "still fine")]);
        Assert.Equal("still fine", r.Text);
        Assert.Equal("v", r.Header("x-h"));
    }

    [Theory]
    [InlineData("ascii")]
    [InlineData("")]
    [InlineData("caf\u00e9 \u00ff \u20ac \ud83d\ude00")]
    [InlineData("lone \ud800 surrogate")]
    [InlineData("long-ascii")]
    [InlineData("long-unicode")]
    public void StringBodiesReachTheWireAsTheirUtf8Bytes(string text)
    {
        // ASCII strings cross as they are (they are their own UTF-8), others are encoded; both must
        // give the bytes TextEncoder gives, whatever their length.
        var body = text switch
        {
            "long-ascii" => new string('a', 70_000) + "z",
            "long-unicode" => string.Concat(Enumerable.Repeat("\u00e9a", 40_000)),
            _ => text,
        };
        using var h = new RuntimeHarness("export default { fetch: async (request) => new Response(await request.text()) };");
        var r = h.Send("POST", "/", [new("content-type", "text/plain")], System.Text.Encoding.UTF8.GetBytes(body));
        Assert.Equal(200, r.Status);
        Assert.Equal(new System.Text.UTF8Encoding(false, false).GetBytes(body), r.Body);
        Assert.Equal("text/plain;charset=UTF-8", r.Header("content-type"));
    }

    [Fact]
    public void StringBodiesReadAsBytesClonedOrWithTheAppsOwnContentType()
    {
        using var h = new RuntimeHarness("""
            export default { async fetch(request) {
              const path = new URL(request.url).pathname;
              const r = new Response("plain body");
              if (path === "/bytes") return new Response(await new Response("abc").bytes());
              if (path === "/clone") { const c = r.clone(); await r.text(); return c; }
              const own = new Response("x", { headers: { "content-type": "text/html" } });
              return own;
            } };
            """);
        var bytes = h.Get("/bytes");
        Assert.Equal("abc", bytes.Text);
        Assert.Null(bytes.Header("content-type"));
        Assert.Equal("plain body", h.Get("/clone").Text);
        var own = h.Get("/own");
        Assert.Equal("text/html", own.Header("content-type"));
        Assert.Single(own.Headers, x => x.Key == "content-type");
    }

    [Fact]
    public void AnswersGivenWithinTheDispatchOrAfterItArriveAlike()
    {
        // A handler that answers at once hands its answer back with the dispatch; a later answer,
        // or one too large to cross as a string, goes through a host call. Both must arrive intact.
        using var h = new RuntimeHarness("""
            export default { async fetch(request) {
              const path = new URL(request.url).pathname;
              if (path === "/later") { await new Promise((r) => setTimeout(r, 1)); return new Response("later", { status: 202 }); }
              if (path === "/bytes") return new Response(new Uint8Array([0, 1, 255, 10, 0]));
              if (path === "/big") return new Response("b".repeat(100_000));
              const headers = new Headers([["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-nul-free", "v"]]);
              return new Response("now\n\u0000\u00ff", { status: 201, headers });
            } };
            """);
        // An async handler's promise settles in the dispatch's microtasks: still within the call.
        var now = h.Get("/now");
        Assert.Equal(201, now.Status);
        Assert.Equal(new byte[] { (byte)'n', (byte)'o', (byte)'w', 10, 0, 0xc3, 0xbf }, now.Body);
        Assert.Equal(["a=1", "b=2"], now.Headers.Where(x => x.Key == "set-cookie").Select(x => x.Value));
        var later = h.Get("/later");
        Assert.Equal(202, later.Status);
        Assert.Equal("later", later.Text);
        Assert.Equal(new byte[] { 0, 1, 255, 10, 0 }, h.Get("/bytes").Body);
        Assert.Equal(100_000, h.Get("/big").Body.Length);
        Assert.Equal(201, h.Get("/now").Status);
    }
}
