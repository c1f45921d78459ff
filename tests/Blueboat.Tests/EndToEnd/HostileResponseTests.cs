using System.Net;
using System.Net.Sockets;
using System.Text;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>What an app sends back, and a client's malformed body, cannot hurt the connection, the log or the box.</summary>
[Collection(TimingSensitive.Name)]
public class HostileResponseTests
{
    [Fact]
    public async Task ATimerThatSpinsAfterTheAnswerIsStoppedAndItsWorkerReplaced()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--cpu-limit-ms", "200");
        var boot = await edge.Http.GetStringAsync("boot-id");
        Assert.Equal("answered", await edge.Http.GetStringAsync("spin-after-answer"));
        var log = edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("outside any open request"), TimeSpan.FromSeconds(10));
        Assert.Equal("error", log.GetProperty("level").GetString());
        // A fresh worker serves the app; the spinning one is gone.
        Assert.NotEqual(boot, await edge.Http.GetStringAsync("boot-id"));
    }

    [Fact]
    public async Task ConnectionHeadersFromAnAppAreStripped()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        using var r = await edge.Http.GetAsync("connection-headers");
        Assert.Equal("steered", await r.Content.ReadAsStringAsync());
        Assert.Equal("yes", r.Headers.GetValues("x-kept").Single());
        foreach (var name in new[] { "Upgrade", "Keep-Alive", "Proxy-Authenticate" })
            Assert.False(r.Headers.Contains(name), name);
        Assert.False(r.Headers.ConnectionClose ?? false);
    }

    [Fact]
    public async Task NonAsciiHeaderTextKeepsItsUtf8BytesBothWays()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        using var client = new TcpClient();
        await client.ConnectAsync(edge.BaseUri.Host, edge.Port);
        var stream = client.GetStream();
        var value = Encoding.UTF8.GetBytes("café");
        byte[] request = [.. "GET /echo-header HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-In: "u8, .. value, .. "\r\n\r\n"u8];
        await stream.WriteAsync(request);
        using var response = new MemoryStream();
        await stream.CopyToAsync(response).WaitAsync(TimeSpan.FromSeconds(10));
        var bytes = response.ToArray();
        Assert.StartsWith("HTTP/1.1 200 ", Encoding.Latin1.GetString(bytes));
        byte[] echoed = [.. "x-echo: "u8, .. value, .. "\r\n"u8];
        Assert.True(bytes.AsSpan().IndexOf(echoed) >= 0, Encoding.Latin1.GetString(bytes));
        Assert.True(bytes.AsSpan().EndsWith(value), Encoding.Latin1.GetString(bytes));
    }

    [Fact]
    public async Task AHugeResponseHeadGets500()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        using var r = await edge.Http.GetAsync("huge-header");
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        Assert.Equal("inspect app", await edge.Http.GetStringAsync(""));
    }

    [Theory]
    [InlineData("FFFFFFFFFFFFFFFFFFFF")]
    [InlineData("7FFFFFFFFFFFFFFF")]
    [InlineData("zz")]
    public async Task AMalformedChunkSizeGets400AndNoErrorInTheLog(string size)
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("echo"));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, edge.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabc\r\n"));
        var buffer = new byte[4096];
        var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 400", Encoding.ASCII.GetString(buffer, 0, n));
        await Task.Delay(200);
        Assert.DoesNotContain(edge.Logs(), l => l.GetProperty("level").GetString() == "error");
        Assert.Equal("/ok", await edge.Http.GetStringAsync("ok"));
    }
}
