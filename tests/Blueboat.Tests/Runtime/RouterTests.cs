using Blueboat.Tests.Support;

namespace Blueboat.Tests.Runtime;

/// <summary>The Router's matching rules (Blueboat's, with the listed quirks fixed), run in V8.</summary>
public class RouterTests : IDisposable
{
    private static readonly string App = File.ReadAllText(Support.TestPaths.App("router/index.js"));

    private readonly RuntimeHarness h = new(App);

    [Theory]
    [MemberData(nameof(RouterCases.Matches), MemberType = typeof(RouterCases))]
    public void MatchesLikeBlueboat(string path, string expected)
    {
        var r = h.Get(path);
        Assert.Equal(200, r.Status);
        Assert.Equal(expected, r.Text);
    }

    [Theory]
    [MemberData(nameof(RouterCases.Misses), MemberType = typeof(RouterCases))]
    public void MissesAre404NotFound(string path)
    {
        var r = h.Get(path);
        Assert.Equal(404, r.Status);
        Assert.Equal("not found", r.Text);
    }

    [Theory]
    [InlineData("POST", "b-post")]
    [InlineData("PUT", "b-put")]
    [InlineData("PATCH", "b-patch")]
    [InlineData("DELETE", "b-delete")]
    [InlineData("OPTIONS", "b-options")]
    public void DispatchesByMethod(string method, string expected)
    {
        Assert.Equal(expected, h.Send(method, "/b").Text);
    }

    [Fact]
    public void HeadFallsBackToGetUnlessItHasItsOwn()
    {
        Assert.Equal("b", h.Send("HEAD", "/b").Text); // the server drops the HEAD body; the handler is GET's
        Assert.Equal("own", h.Send("HEAD", "/h").Header("x-head"));
    }

    [Fact]
    public void AnyCoversEveryMethodButHeadFallsToGetThroughIt()
    {
        foreach (var m in new[] { "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" })
            Assert.Equal("any-" + m, h.Send(m, "/any").Text);
        Assert.Equal("any-HEAD", h.Send("HEAD", "/any").Text);
    }

    [Fact]
    public void AMethodWithoutAHandlerIs404()
    {
        var r = h.Send("POST", "/a/x");
        Assert.Equal(404, r.Status);
        Assert.Equal("not found", r.Text);
    }

    [Theory]
    [InlineData("PROPFIND")]
    [InlineData("FOO")]
    public void AnUnknownMethodIs404NotAnError(string method)
    {
        var r = h.Send(method, "/b");
        Assert.Equal(404, r.Status);
        Assert.Equal("not found", r.Text);
        Assert.DoesNotContain(h.Logs, l => l.Message.Contains("unhandled exception"));
    }

    [Theory]
    [MemberData(nameof(RouterCases.DoubleSlashes), MemberType = typeof(RouterCases))]
    public void EmptyIntermediateSegmentsAreOrdinaryMisses(string path, int status, string body)
    {
        var r = h.Get(path);
        Assert.Equal(status, r.Status);
        Assert.Equal(body, r.Text);
    }

    [Fact]
    public void MiddlewareOrder_ShallowestLastRegisteredFirst_AndDirectoryMiddlewareOnce()
    {
        var dir = h.Get("/m/");
        Assert.Equal("root2,root1,m,m-dir", dir.Text); // m-dir once, not twice
        var inner = h.Get("/m/inner");
        Assert.Equal("root2,root1,m,m-dir,inner", inner.Text);
        Assert.Equal("m", inner.Header("x-mw"));
        Assert.Equal("root2,root1", h.Get("/order").Text); // "/" middleware runs once on a plain route
    }

    [Fact]
    public void ThrowingHandlerGives500PageWithRequestIdAndLogsTheStack()
    {
        var r = h.Get("/throws");
        Assert.Equal(500, r.Status);
        Assert.StartsWith("text/html", r.Header("content-type"));
        Assert.Contains("req-", r.Text);
        Assert.DoesNotContain("boom", r.Text); // the error stays in the log
        Assert.Contains(h.Logs, l => l.Level == Blueboat.Channel.LogLevel.Error && l.Message.Contains("boom") && l.Message.Contains("index.mjs"));
    }

    [Fact]
    public void NonResponseResultIs500()
    {
        Assert.Equal(500, h.Get("/not-a-response").Status);
        Assert.Contains(h.Logs, l => l.Message.Contains("instead of a Response"));
    }

    [Fact]
    public void AsyncHandlersAndBodies()
    {
        Assert.Equal("later", h.Get("/async").Text);
        Assert.Equal("payload", h.Send("POST", "/echo", requestBody: "payload"u8.ToArray()).Text);
    }

    [Fact]
    public void GetWithABodyIsServedNot500()
    {
        var r = h.Send("GET", "/get-body", requestBody: "hello"u8.ToArray());
        Assert.Equal(200, r.Status);
        Assert.Equal("get-body:hello", r.Text);
    }

    [Fact]
    public void DebugPathListsRoutesSortedByPath()
    {
        var r = h.Get("/__debug");
        Assert.Equal("application/json", r.Header("content-type"));
        using var doc = System.Text.Json.JsonDocument.Parse(r.Text);
        var paths = doc.RootElement.GetProperty("routes").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Equal(paths.Order(StringComparer.Ordinal).ToList(), paths);
        Assert.Contains(doc.RootElement.GetProperty("routes").EnumerateArray(), e => e.GetProperty("path").GetString() == "/b" && e.GetProperty("method").GetString() == "POST");
        Assert.Contains("\n  \"routes\"", r.Text); // two-space indentation
    }

    [Theory]
    [InlineData("Router.get('nope', () => null)", "path must start with '/'")]
    [InlineData("Router.get('/a//b', () => null)", "intermediate path segment must not be empty")]
    public void BadRegistrationsFailTheAppAtLoad(string code, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => new RuntimeHarness(code));
        Assert.Contains(expected, e.ToString());
    }

    public void Dispose() => h.Dispose();
}
