using System.Net;
using System.Net.Sockets;
using System.Text;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>Abusive HTTP clients: each gets its status, and the server answers a normal request right after.</summary>
public class HostileClientTests : IDisposable
{
    private readonly EdgeProcess edge = EdgeProcess.Start("--app", TestPaths.Example("hello-world"), "--header-timeout-ms", "1000");

    private async Task StillServes() => Assert.Equal("hello world", await edge.Http.GetStringAsync(""));

    private async Task<string> Raw(string request)
    {
        var raw = await HttpTests.RawRequest(edge.Port, request);
        await StillServes();
        return raw;
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400)]
    [InlineData("GET / HTTP/9.9\r\nHost: t\r\n\r\n", 505)]
    [InlineData("GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)]
    public async Task MalformedRequestsAreRefused(string request, int status) => Assert.StartsWith($"HTTP/1.1 {status}", await Raw(request));

    [Fact]
    public async Task OversizedHeadersGet431()
    {
        var huge = $"GET / HTTP/1.1\r\nHost: t\r\nX-Big: {new string('a', 40_000)}\r\n\r\n";
        Assert.StartsWith("HTTP/1.1 431", await Raw(huge));
    }

    [Fact]
    public async Task AHeaderFloodGets431()
    {
        var sb = new StringBuilder("GET / HTTP/1.1\r\nHost: t\r\n");
        for (var i = 0; i < 500; i++) sb.Append($"X-H{i}: v\r\n");
        Assert.StartsWith("HTTP/1.1 431", await Raw(sb.Append("\r\n").ToString()));
    }

    [Fact]
    public async Task ContentLengthWithTransferEncodingCannotSmuggleASecondRequest()
    {
        // RFC 9112: Transfer-Encoding wins and the connection is closed after the answer, so the
        // bytes a front proxy would have taken as body are never read as a request.
        var raw = await Raw("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /json?smuggled=1 HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.Equal(1, raw.Split("HTTP/1.1 ").Length - 1);
        Assert.Contains("Connection: close", raw);
        Assert.DoesNotContain("smuggled", raw);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd")]
    [InlineData("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")]
    public async Task SmugglingAttemptsGet400(string request) => Assert.StartsWith("HTTP/1.1 400", await Raw(request));

    [Fact]
    public async Task ASlowHeadIsCutOffWhileOthersAreServed()
    {
        await StillServes(); // the app's worker is up first: the loop below then takes ~2 s whatever the box's load
        using var slow = new TcpClient();
        await slow.ConnectAsync(IPAddress.Loopback, edge.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync("GET / HTTP/1.1\r\nHost: t\r\n"u8.ToArray());
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 10; i++)
        {
            await StillServes();
            try { await stream.WriteAsync("X-Slow: 1\r\n"u8.ToArray()); }
            catch (IOException) when (sw.Elapsed > TimeSpan.FromSeconds(1))
            {
                // On a busy machine the loop outlasts the timeout: the server already answered
                // 408 and closed, and the kernel refuses further writes (broken pipe). Cut off.
                return;
            }
            await Task.Delay(200);
        }
        // The head took more than the 1 s allowed: the server answered 408 or closed the connection.
        var buffer = new byte[256];
        var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        var answer = Encoding.ASCII.GetString(buffer, 0, n);
        Assert.True(n == 0 || answer.StartsWith("HTTP/1.1 408"), answer);
    }

    [Fact]
    public async Task TenThousandIdleConnectionsDoNotStallOtherClients()
    {
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 10_000; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(IPAddress.Loopback, edge.Port);
                idle.Add(s);
            }
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; i < 20; i++) await StillServes();
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"20 requests took {sw.Elapsed} beside 10,000 idle connections");
            Assert.False(edge.HasExited);
        }
        finally
        {
            foreach (var s in idle) s.Dispose();
        }
        await StillServes();
    }

    public void Dispose() => edge.Dispose();
}
