using System.Net;
using System.Text;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>Every Router rule through the AOT binary over HTTP (the same app the in-process tests use).</summary>
public class RouterEndToEndTests : IClassFixture<RouterEndToEndTests.Server>
{
    public sealed class Server : IDisposable
    {
        public EdgeProcess Edge { get; } = EdgeProcess.Start("--app", TestPaths.App("router"));
        public void Dispose() => Edge.Dispose();
    }

    private readonly EdgeProcess edge;

    public RouterEndToEndTests(Server server) => edge = server.Edge;

    private async Task<(int Status, string Body, HttpResponseMessage Response)> Send(string method, string path, string? body = null)
    {
        var req = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/') is var p && path.StartsWith("//") ? path : p);
        if (body is not null) req.Content = new StringContent(body, Encoding.UTF8);
        var r = await edge.Http.SendAsync(req);
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync(), r);
    }

    [Theory]
    [MemberData(nameof(RouterCases.Matches), MemberType = typeof(RouterCases))]
    [InlineData("/c/d?query=1", "c-d")]
    public async Task Matches(string path, string expected)
    {
        var (status, body, _) = await Send("GET", path);
        Assert.Equal(200, status);
        Assert.Equal(expected, body);
    }

    [Theory]
    [MemberData(nameof(RouterCases.Misses), MemberType = typeof(RouterCases))]
    public async Task MissesAre404NotFound(string path)
    {
        var (status, body, _) = await Send("GET", path);
        Assert.Equal(404, status);
        Assert.Equal("not found", body);
    }

    [Theory]
    [InlineData("POST", "/b", 200, "b-post")]
    [InlineData("PUT", "/b", 200, "b-put")]
    [InlineData("PATCH", "/b", 200, "b-patch")]
    [InlineData("DELETE", "/b", 200, "b-delete")]
    [InlineData("OPTIONS", "/b", 200, "b-options")]
    [InlineData("POST", "/a/x", 404, "not found")]
    [InlineData("PROPFIND", "/b", 404, "not found")]
    [InlineData("PUT", "/any", 200, "any-PUT")]
    public async Task Methods(string method, string path, int status, string expected)
    {
        var (s, body, _) = await Send(method, path);
        Assert.Equal(status, s);
        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task HeadFallsBackToGetWithoutABody()
    {
        var (status, body, r) = await Send("HEAD", "/b");
        Assert.Equal(200, status);
        Assert.Equal("", body);
        Assert.Equal(1, r.Content.Headers.ContentLength); // GET /b answers "b"
        var (_, _, own) = await Send("HEAD", "/h");
        Assert.Equal("own", own.Headers.GetValues("x-head").Single());
    }

    [Theory]
    [MemberData(nameof(RouterCases.DoubleSlashes), MemberType = typeof(RouterCases))]
    public async Task DoubleSlashIsAnOrdinaryMiss(string path, int status, string expected)
    {
        var raw = await HttpTests.RawRequest(edge.Port, $"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith($"HTTP/1.1 {status}", raw);
        Assert.EndsWith(expected, raw);
    }

    [Fact]
    public async Task MiddlewareRunsOnceInOrder()
    {
        Assert.Equal("root2,root1,m,m-dir", (await Send("GET", "/m/")).Body);
        var (_, inner, r) = await Send("GET", "/m/inner");
        Assert.Equal("root2,root1,m,m-dir,inner", inner);
        Assert.Equal("m", r.Headers.GetValues("x-mw").Single());
    }

    [Fact]
    public async Task GetWithABodyIsServed()
    {
        var (status, body, _) = await Send("GET", "/get-body", "hello");
        Assert.Equal(200, status);
        Assert.Equal("get-body:hello", body);
    }

    [Fact]
    public async Task AsyncHandlerAndEcho()
    {
        Assert.Equal("later", (await Send("GET", "/async")).Body);
        Assert.Equal("é payload", (await Send("POST", "/echo", "é payload")).Body);
    }

    [Fact]
    public async Task ErrorsAre500AndDebugPathLists()
    {
        Assert.Equal(500, (await Send("GET", "/throws")).Status);
        Assert.Equal(500, (await Send("GET", "/not-a-response")).Status);
        var (status, body, r) = await Send("GET", "/__debug");
        Assert.Equal(200, status);
        Assert.Equal("application/json", r.Content.Headers.ContentType!.MediaType);
        Assert.Contains("\"path\": \"/a/*/z\"", body);
    }
}
