namespace Blueboat.Tests.Runtime;

/// <summary>App code that misbehaves still gets exactly one answer per request, and cannot reach the platform's internals.</summary>
public class HostileAppTests
{
    private static RuntimeHarness.Response Serve(string handlerBody, out List<string> logs)
    {
        using var h = new RuntimeHarness($$"""export default { async fetch(request) { {{handlerBody}} } };""");
        var r = h.Get("/");
        logs = h.Logs.Select(l => l.Message).ToList();
        return r;
    }

    [Theory]
    [InlineData("throw Symbol('odd');", "Symbol(odd)")]
    [InlineData("throw new Proxy({}, { get() { throw new Error('trap'); } });", "unhandled exception")]
    [InlineData("return new Response('x', { headers: { 'x-a': '\\ud800' } });", "Invalid header value")]
    [InlineData("return new Response('x', { headers: { 'x-a': 'caf\\u00e9 \\u20ac' } });", "Invalid header value")]
    [InlineData("throw null;", "null")]
    public void MisbehavingHandlersGetThe500PageAndALogLine(string body, string logged)
    {
        var r = Serve(body, out var logs);
        Assert.Equal(500, r.Status);
        Assert.Contains(logs, l => l.Contains(logged));
    }

    [Fact]
    public void OwnStatusAndHeadersPropertiesOnAResponseAreIgnored()
    {
        var r = Serve("""
            const res = new Response("real", { status: 201, headers: { "x-real": "1" } });
            Object.defineProperty(res, "status", { get() { return 1e10; } });
            Object.defineProperty(res, "headers", { get() { throw new Error("nope"); } });
            return res;
            """, out _);
        Assert.Equal(201, r.Status);
        Assert.Equal("1", r.Header("x-real"));
        Assert.Equal("real", r.Text);
    }

    [Theory]
    [InlineData(500, "Number.isInteger = () => true; return new Response(\"x\", { status: 250.5 });")]
    [InlineData(201, """
        const RealNumber = Number;
        // A status that passes every check as 250 but reads as header lines when written out.
        globalThis.Number = function (v) { return v === undefined ? RealNumber(v) : { valueOf: () => 250, toString: () => "250\nx-injected\nyes" }; };
        globalThis.Number.isInteger = () => true;
        return new Response("x", { status: 201 });
        """)]
    public void AReplacedNumberCannotForgeAStatus(int status, string body)
    {
        using var h = new RuntimeHarness($$"""
            export default { fetch(request) {
              if (new URL(request.url).pathname === "/forge") { {{body}} }
              return new Response("fine");
            } };
            """);
        var r = h.Get("/forge");
        Assert.Equal(status, r.Status); // the platform's own Number reads the status: 250.5 is refused, 201 stays 201
        Assert.DoesNotContain(r.Headers, x => x.Key == "x-injected");
        Assert.Equal("fine", h.Get("/next").Text); // the platform's path still works
    }

    [Fact]
    public void ReplacingJsonDoesNotBreakThePlatform()
    {
        using var h = new RuntimeHarness("""
            JSON.parse = () => ({});
            JSON.stringify = () => "{";
            export default { fetch: () => new Response("still fine", { headers: { "x-h": "v" } }) };
            """);
        var r = h.Get("/");
        Assert.Equal("still fine", r.Text);
        Assert.Equal("v", r.Header("x-h"));
        Assert.Equal("still fine", h.Get("/again").Text);
    }

    [Fact]
    public void InternalEntryPointsCannotBeCalledOrReplaced()
    {
        using var h = new RuntimeHarness("""
            const out = {};
            try { __bb_bootstrap("{}", "x"); out.bootstrap = "called"; } catch (e) { out.bootstrap = e.name; }
            try { __bb_set_app_module({ default: { fetch: () => new Response("hijacked") } }, "guess"); out.set = "called"; } catch (e) { out.set = e.message; }
            out.dispatchVisible = typeof globalThis.__bb_dispatch;
            // The host holds the dispatcher itself: a global of that name is just the app's own.
            globalThis.__bb_dispatch = () => { throw new Error("hijacked"); };
            export default { fetch: () => Response.json(out) };
            """);
        var r = h.Get("/");
        Assert.Equal(200, r.Status);
        Assert.Contains("\"bootstrap\":\"ReferenceError\"", r.Text);
        Assert.Contains("internal to the platform", r.Text);
        Assert.Contains("\"dispatchVisible\":\"undefined\"", r.Text);
        Assert.Equal(200, h.Get("/again").Status);
    }
}
