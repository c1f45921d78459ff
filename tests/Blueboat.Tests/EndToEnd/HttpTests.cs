using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>The HTTP behaviour of the AOT binary: health, headers, request ids, URLs, logs, errors.</summary>
public class HttpTests : IDisposable
{
    private readonly EdgeProcess edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));

    [Fact]
    public async Task HealthAnswersOkBeforeAnyApp()
    {
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
        {
            using var r = await edge.Http.SendAsync(new HttpRequestMessage(method, "_blueboat/health"));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("OK", await r.Content.ReadAsStringAsync());
        }
        Assert.Empty(edge.WorkerPids()); // no worker was needed for that
    }

    [Fact]
    public async Task ResponsesCarryPlatformHeadersAndAGeneratedRequestId()
    {
        using var r = await edge.Http.GetAsync("");
        Assert.Equal("inspect app", await r.Content.ReadAsStringAsync());
        var id = r.Headers.GetValues("x-blueboat-request-id").Single();
        Assert.Matches("^u:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id);
        Assert.True(double.Parse(r.Headers.GetValues("x-blueboat-handle-latency").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Matches(@"^\d+\.\d\d$", r.Headers.GetValues("x-blueboat-busy-duration").Single());
    }

    [Fact]
    public async Task ProxyOnlyHeadersFromAnUntrustedClientAreStripped()
    {
        var req = new HttpRequestMessage(HttpMethod.Get, "echo");
        req.Headers.Add("x-blueboat-client-ip", "203.0.113.9");
        req.Headers.Add("x-blueboat-metadata", "apps/a.json");
        using var r = await edge.Http.SendAsync(req);
        var headers = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("headers");
        Assert.False(headers.TryGetProperty("x-blueboat-client-ip", out _));
        Assert.False(headers.TryGetProperty("x-blueboat-metadata", out _));
    }

    [Fact]
    public async Task IncomingRequestIdIsKeptAndOtherPlatformHeadersAreStripped()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--trusted-proxy", "127.0.0.1");
        var req = new HttpRequestMessage(HttpMethod.Post, "echo?x=1&y=%20z") { Content = new StringContent("body!") };
        req.Headers.Add("x-blueboat-request-id", "proxy-id-7");
        req.Headers.Add("x-blueboat-client-ip", "203.0.113.9");
        req.Headers.Add("x-blueboat-metadata", "apps/a.json");
        req.Headers.Add("x-blueboat-client-country", "XX");
        req.Headers.Add("X-Blueboat-Evil", "1");
        req.Headers.Add("x-custom", "kept");
        req.Headers.Host = "app.example.com:8443";
        using var r = await edge.Http.SendAsync(req);
        Assert.Equal("proxy-id-7", r.Headers.GetValues("x-blueboat-request-id").Single());
        var seen = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        var headers = seen.GetProperty("headers");
        Assert.Equal("proxy-id-7", headers.GetProperty("x-blueboat-request-id").GetString());
        Assert.Equal("203.0.113.9", headers.GetProperty("x-blueboat-client-ip").GetString());
        Assert.Equal("apps/a.json", headers.GetProperty("x-blueboat-metadata").GetString());
        Assert.False(headers.TryGetProperty("x-blueboat-client-country", out _));
        Assert.False(headers.TryGetProperty("x-blueboat-evil", out _));
        Assert.Equal("kept", headers.GetProperty("x-custom").GetString());
        Assert.Equal("https://app.example.com:8443/echo?x=1&y=%20z", seen.GetProperty("url").GetString());
        Assert.Equal("body!", seen.GetProperty("body").GetString());
        Assert.Equal("POST", seen.GetProperty("method").GetString());
    }

    [Fact]
    public async Task SetCookieStaysSeparateLinesOnTheWireAndAppCannotForgePlatformHeaders()
    {
        var raw = await RawGet(edge.Port, "/cookies");
        var lines = raw.Split("\r\n");
        Assert.StartsWith("HTTP/1.1 200", lines[0]);
        Assert.Equal(2, lines.Count(l => l.StartsWith("Set-Cookie:", StringComparison.OrdinalIgnoreCase)));
        Assert.Contains(lines, l => l.Equals("set-cookie: a=1; Path=/", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(lines, l => l.Equals("x-app: kept", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(lines, l => l.StartsWith("x-blueboat-anything", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(lines, l => l.Contains("forged"));
        Assert.Single(lines, l => l.StartsWith("x-blueboat-request-id:", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(lines, l => l.Equals("x-blueboat-handle-latency: 0", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("xn--zz")]
    [InlineData("1.2.3.4.5")]
    public async Task AHostTheUrlParserRefusesIs400NotAnAppError(string host)
    {
        var raw = await RawRequest(edge.Port, $"GET /echo HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400", raw);
        Assert.Contains("bad request", raw);
        Assert.DoesNotContain(edge.Logs(), l => l.GetProperty("msg").GetString()!.Contains("unhandled exception"));
    }

    [Fact]
    public async Task TraceReachesTheRouterAsAnUnknownMethod()
    {
        var raw = await RawRequest(edge.Port, "TRACE /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 404", raw);
        Assert.EndsWith("not found", raw);
    }

    [Fact]
    public async Task AnUnusableIncomingRequestIdIsReplaced()
    {
        var raw = await RawRequest(edge.Port, "GET / HTTP/1.1\r\nHost: t\r\nx-blueboat-request-id: a\u0001b\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", raw);
        Assert.Matches("x-blueboat-request-id: u:[0-9a-f-]{36}", raw);
    }

    [Fact]
    public async Task RequestWithoutHostSeesNohost()
    {
        var raw = await RawRequest(edge.Port, "GET /echo HTTP/1.0\r\n\r\n");
        Assert.Contains("\"url\":\"https://nohost/echo\"", raw);
    }

    [Fact]
    public async Task ConsoleGoesToTheSupervisorLogAsJsonWithAppAndRequestId()
    {
        var req = new HttpRequestMessage(HttpMethod.Get, "log");
        req.Headers.Add("x-blueboat-request-id", "log-test-1");
        using var r = await edge.Http.SendAsync(req);
        Assert.Equal("logged", await r.Content.ReadAsStringAsync());
        var info = edge.WaitForLog(l => l.TryGetProperty("msg", out var m) && m.GetString() == "hello from the app {\"n\":1}");
        Assert.Equal("info", info.GetProperty("level").GetString());
        Assert.Equal("inspect", info.GetProperty("app").GetString());
        Assert.Equal("log-test-1", info.GetProperty("request_id").GetString());
        Assert.Equal("app", info.GetProperty("source").GetString());
        Assert.Equal("warn", edge.WaitForLog(l => l.GetProperty("msg").GetString() == "careful").GetProperty("level").GetString());
        Assert.Equal("error", edge.WaitForLog(l => l.GetProperty("msg").GetString() == "bad things").GetProperty("level").GetString());
    }

    [Fact]
    public async Task ThrowingHandlerGives500PageNamingTheRequestIdAndLogsTheStack()
    {
        using var r = await edge.Http.GetAsync("throw");
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        Assert.Equal("text/html", r.Content.Headers.ContentType!.MediaType);
        var id = r.Headers.GetValues("x-blueboat-request-id").Single();
        var page = await r.Content.ReadAsStringAsync();
        Assert.Contains(id, page);
        Assert.DoesNotContain("secret detail", page);
        var log = edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("secret detail"));
        Assert.Equal(id, log.GetProperty("request_id").GetString());
        Assert.Contains("index.js", log.GetProperty("msg").GetString()); // the stack names the app file
    }

    [Fact]
    public async Task AHandlerThatCanNeverSettleGets500InsteadOfHanging()
    {
        using var r = await edge.Http.GetAsync("never").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        var id = r.Headers.GetValues("x-blueboat-request-id").Single();
        var log = edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("never settled"));
        Assert.Equal(id, log.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task NullBodyStatusesCarryNoBody()
    {
        var raw = await RawRequest(edge.Port, "GET /not-modified HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 304", raw);
        Assert.DoesNotContain("Content-Length", raw, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\n", raw);
    }

    [Fact]
    public async Task BodiesOfSeveralMegabytesTravelBothWays()
    {
        var body = new byte[10 * 1024 * 1024];
        new Random(3).NextBytes(body);
        using var r = await edge.Http.PostAsync("size", new ByteArrayContent(body));
        Assert.Equal(body.Length.ToString(), await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TooLargeBodyIs413()
    {
        using var small = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--max-request-body", "1000");
        using var r = await small.Http.PostAsync("size", new ByteArrayContent(new byte[5000]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        using var ok = await small.Http.PostAsync("size", new ByteArrayContent(new byte[900]));
        Assert.Equal("900", await ok.Content.ReadAsStringAsync());
    }

    private static Task<string> RawGet(int port, string path) => RawRequest(port, $"GET {path} HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\n");

    internal static async Task<string> RawRequest(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    public void Dispose() => edge.Dispose();
}
