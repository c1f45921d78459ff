using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>
/// The HTTP listener's connection handling over real loopback TCP: pipelining, keep-alive, large
/// bodies, many connections, half-close and resets. `make test` runs these with each transport.
/// </summary>
public class TransportTests : IDisposable
{
    private readonly EdgeProcess edge = EdgeProcess.Start("--app", TestPaths.App("echo"), "--max-concurrent-requests", "2000");

    [Fact]
    public async Task PipelinedRequestsAreAnsweredInOrder()
    {
        using var client = await RawHttp.ConnectAsync(edge.Port);
        var requests = string.Concat(Enumerable.Range(0, 10).Select(i => RawHttp.Get($"/pipelined?i={i}")));
        await client.WriteAsync(requests); // all ten in one write
        for (var i = 0; i < 10; i++)
        {
            var r = await client.ReadResponseAsync();
            Assert.Equal(200, r.Status);
            Assert.Equal($"/pipelined?i={i}", r.Text);
        }
    }

    [Fact]
    public async Task KeepAliveServesManyRequestsOverOneConnection()
    {
        using var client = await RawHttp.ConnectAsync(edge.Port);
        for (var i = 0; i < 300; i++)
        {
            await client.WriteAsync(RawHttp.Get($"/keep-alive?i={i}"));
            var r = await client.ReadResponseAsync();
            Assert.Equal(200, r.Status);
            Assert.Equal($"/keep-alive?i={i}", r.Text);
        }
        await client.WriteAsync(RawHttp.Get("/last", close: true));
        Assert.Equal("/last", (await client.ReadResponseAsync()).Text);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(5)), "the server kept the connection after Connection: close");
    }

    [Fact]
    public async Task TenMegabyteBodiesTravelBothWays()
    {
        var body = new byte[10 * 1024 * 1024];
        new Random(11).NextBytes(body);
        using var r = await edge.Http.PostAsync("echo", new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var echoed = await r.Content.ReadAsByteArrayAsync();
        Assert.Equal(body.Length, echoed.Length);
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(echoed));
    }

    [Fact]
    public async Task AThousandConcurrentConnectionsAreAllServed()
    {
        const int count = 1000;
        var clients = new RawHttp[count];
        try
        {
            // All connections open at once before any request is sent.
            for (var batch = 0; batch < count; batch += 100)
                await Task.WhenAll(Enumerable.Range(batch, 100).Select(async i => clients[i] = await RawHttp.ConnectAsync(edge.Port)));
            await Task.WhenAll(clients.Select((c, i) => c.WriteAsync(RawHttp.Get($"/many?i={i}"))));
            var responses = await Task.WhenAll(clients.Select(c => c.ReadResponseAsync(TimeSpan.FromSeconds(60))));
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(200, responses[i].Status);
                Assert.Equal($"/many?i={i}", responses[i].Text);
            }
        }
        finally
        {
            foreach (var c in clients) c?.Dispose();
        }
    }

    /// <summary>
    /// io-uring only: Kestrel's socket transport treats the client's FIN as the connection closing
    /// and drops the response; ours ends only the request side, as TCP means it.
    /// </summary>
    [Fact]
    public async Task AClientThatHalfClosesStillGetsItsResponseOverIoUring()
    {
        using var uring = EdgeProcess.Start("--app", TestPaths.App("echo"), "--transport", "io-uring");
        if (uring.WaitForLog(l => l.GetProperty("msg").GetString() == "listening").GetProperty("transport").GetString() != "io-uring")
            return; // no io_uring on this kernel: TransportChoiceTests check the fallback instead
        using var client = await RawHttp.ConnectAsync(uring.Port);
        await client.WriteAsync(RawHttp.Get("/half-closed"));
        client.Socket.Shutdown(SocketShutdown.Send);
        var r = await client.ReadResponseAsync();
        Assert.Equal(200, r.Status);
        Assert.Equal("/half-closed", r.Text);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(5)), "the server did not close after the half-closed client's last response");
    }

    [Fact]
    public async Task AResetMidRequestLeavesTheServerServing()
    {
        for (var i = 0; i < 20; i++)
        {
            using var client = await RawHttp.ConnectAsync(edge.Port);
            await client.WriteAsync("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\npartial");
            client.Socket.LingerState = new LingerOption(true, 0); // close sends RST
            client.Socket.Close();
        }
        using var after = await RawHttp.ConnectAsync(edge.Port);
        await after.WriteAsync(RawHttp.Get("/after-reset"));
        Assert.Equal("/after-reset", (await after.ReadResponseAsync()).Text);
        Assert.False(edge.HasExited);
    }

    /// <summary>A client that resets while its request body is being read is no error of the server's either.</summary>
    [Fact]
    public async Task ClientsResettingMidRequestBodyLogNoErrors()
    {
        for (var i = 0; i < 10; i++)
        {
            using var client = await RawHttp.ConnectAsync(edge.Port);
            await client.WriteAsync("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + new string('p', 5000));
            await Task.Delay(20); // the server is waiting for the rest of the body
            client.Socket.LingerState = new LingerOption(true, 0); // close sends RST
            client.Socket.Close();
        }
        using var after = await RawHttp.ConnectAsync(edge.Port);
        await after.WriteAsync(RawHttp.Get("/after-resets"));
        Assert.Equal("/after-resets", (await after.ReadResponseAsync()).Text);
        await Task.Delay(500);
        var errors = edge.Logs().Where(l => l.GetProperty("level").GetString() == "error").Select(l => l.ToString()).ToList();
        Assert.True(errors.Count == 0, $"{errors.Count} error lines, the first: {errors.FirstOrDefault()}");
    }

    /// <summary>
    /// A client that resets while its response is being sent is the client's business, not an
    /// error of the server's: nothing is logged as an error (one line per reset would let any
    /// client flood the log), and the server keeps serving.
    /// </summary>
    [Fact]
    public async Task ClientsResettingMidResponseLogNoErrors()
    {
        var body = new string('r', 4 * 1024 * 1024);
        for (var i = 0; i < 20; i++)
        {
            using var client = await RawHttp.ConnectAsync(edge.Port);
            await client.WriteAsync($"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {body.Length}\r\n\r\n{body}");
            Assert.True(await client.Socket.ReceiveAsync(new byte[1024]) > 0); // the response has begun
            client.Socket.LingerState = new LingerOption(true, 0); // close sends RST
            client.Socket.Close();
        }
        using var after = await RawHttp.ConnectAsync(edge.Port);
        await after.WriteAsync(RawHttp.Get("/after-resets"));
        Assert.Equal("/after-resets", (await after.ReadResponseAsync()).Text);
        await Task.Delay(500); // what the resets left behind is logged by now
        var errors = edge.Logs().Where(l => l.GetProperty("level").GetString() == "error").Select(l => l.ToString()).ToList();
        Assert.True(errors.Count == 0, $"{errors.Count} error lines, the first: {errors.FirstOrDefault()}");
    }

    [Fact]
    public async Task IPv6LoopbackIsServed()
    {
        if (!Socket.OSSupportsIPv6) return; // nothing to check on a host without IPv6
        using var v6 = EdgeProcess.StartOn("[::1]", "--app", TestPaths.App("echo"));
        using var client = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.IPv6Loopback, v6.Port);
        await client.SendAsync(System.Text.Encoding.ASCII.GetBytes(RawHttp.Get("/v6", close: true)));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await client.ReceiveAsync(buffer)) > 0) received.Write(buffer, 0, n);
        var text = System.Text.Encoding.UTF8.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 200", text);
        Assert.EndsWith("/v6", text);
    }

    public void Dispose() => edge.Dispose();
}

/// <summary>Which transport serves, and the fallback to sockets when io_uring may not be used.</summary>
public class TransportChoiceTests
{
    private static string? Transport(EdgeProcess edge) =>
        edge.WaitForLog(l => l.GetProperty("msg").GetString() == "listening").GetProperty("transport").GetString();

    private static List<JsonElement> Unavailable(EdgeProcess edge) =>
        edge.Logs().Where(l => l.GetProperty("msg").GetString()!.Contains("io_uring transport unavailable")).ToList();

    [Fact]
    public async Task TheEnvironmentVariableForcesSocketsWithOneLogLine()
    {
        using var edge = EdgeProcess.Start(new Dictionary<string, string> { ["BLUEBOAT_EDGE_DISABLE_IO_URING"] = "1" },
            "--app", TestPaths.App("echo"), "--transport", "io-uring");
        Assert.Equal("socket", Transport(edge));
        var line = Assert.Single(Unavailable(edge));
        Assert.Equal("warn", line.GetProperty("level").GetString());
        Assert.Contains("BLUEBOAT_EDGE_DISABLE_IO_URING", line.GetProperty("reason").GetString());
        Assert.Equal("/still-served", await edge.Http.GetStringAsync("still-served"));
    }

    [Fact]
    public async Task IoUringServesWhereTheKernelAllowsIt()
    {
        using var edge = EdgeProcess.Start(new Dictionary<string, string> { ["BLUEBOAT_EDGE_DISABLE_IO_URING"] = "" },
            "--app", TestPaths.App("echo"), "--transport", "io-uring");
        var transport = Transport(edge);
        if (transport == "socket")
            Assert.Single(Unavailable(edge)); // a kernel or container without io_uring: the fallback said why
        else
        {
            Assert.Equal("io-uring", transport);
            Assert.Empty(Unavailable(edge));
        }
        Assert.Equal("/served", await edge.Http.GetStringAsync("served"));
    }

    [Fact]
    public async Task SocketIsServedWhenAskedFor()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("echo"), "--transport", "socket");
        Assert.Equal("socket", Transport(edge));
        Assert.Empty(Unavailable(edge));
        Assert.Equal("/served", await edge.Http.GetStringAsync("served"));
    }

    [Fact]
    public void AnUnknownTransportIsAUsageError()
    {
        var (exit, _, stderr) = EdgeProcess.Run("serve", "-l", "127.0.0.1:1", "--app", TestPaths.App("echo"), "--transport", "epoll");
        Assert.Equal(2, exit);
        Assert.Contains("--transport: \"epoll\" is not io-uring or socket", stderr);
    }
}

/// <summary>A client trickling its request must not hold up anyone else.</summary>
[Collection(TimingSensitive.Name)]
public class SlowClientTests : IDisposable
{
    private readonly EdgeProcess edge = EdgeProcess.Start("--app", TestPaths.App("echo"));

    [Fact]
    public async Task AClientSendingOneByteEvery10MsDoesNotDelayOthers()
    {
        var request = System.Text.Encoding.ASCII.GetBytes(
            "GET /slow HTTP/1.1\r\nHost: transport.test\r\nX-Padding: " + new string('p', 120) + "\r\n\r\n");
        using var slow = await RawHttp.ConnectAsync(edge.Port);
        var slowSending = Task.Run(async () =>
        {
            foreach (var b in request)
            {
                await slow.Socket.SendAsync(new[] { b });
                await Task.Delay(10);
            }
        });

        await edge.Http.GetStringAsync("warm-up");
        var latencies = new List<double>();
        while (!slowSending.IsCompleted && latencies.Count < 50)
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal($"/fast?i={latencies.Count}", await edge.Http.GetStringAsync($"fast?i={latencies.Count}"));
            latencies.Add(watch.Elapsed.TotalMilliseconds);
        }
        Assert.False(slowSending.IsCompleted, $"the slow client finished before 20 other requests did ({latencies.Count} done)");
        Assert.True(latencies.Count >= 20, $"only {latencies.Count} requests were served while the slow client sent its {request.Length} bytes");
        latencies.Sort();
        Assert.True(latencies[latencies.Count / 2] < 100, $"median latency {latencies[latencies.Count / 2]:F1} ms while a slow client was connected");

        await slowSending;
        var r = await slow.ReadResponseAsync();
        Assert.Equal("/slow", r.Text);
    }

    public void Dispose() => edge.Dispose();
}
