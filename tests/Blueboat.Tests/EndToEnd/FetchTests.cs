using System.Net;
using System.Text.Json;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>fetch() from app code: performed by the supervisor, refused for private and loopback addresses unless allowed.</summary>
[Collection(TimingSensitive.Name)]
public class FetchTests : IDisposable
{
    private readonly HttpListener target = new();
    private readonly int port;
    private readonly Task serving;
    private int hits;

    public FetchTests()
    {
        port = Ports.Free();
        target.Prefixes.Add($"http://127.0.0.1:{port}/");
        target.Start();
        serving = Task.Run(async () =>
        {
            while (target.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await target.GetContextAsync(); } catch { return; }
                Interlocked.Increment(ref hits);
                if (ctx.Request.Url!.AbsolutePath == "/redirect")
                {
                    ctx.Response.StatusCode = 302;
                    ctx.Response.Headers["Location"] = $"http://127.0.0.1:{port}/final";
                    ctx.Response.Close();
                    continue;
                }
                var body = System.Text.Encoding.UTF8.GetBytes($"hello {ctx.Request.Headers["x-from-app"]} at {ctx.Request.Url.AbsolutePath}");
                ctx.Response.ContentType = "text/plain";
                ctx.Response.OutputStream.Write(body);
                ctx.Response.Close();
            }
        });
    }

    private static async Task<JsonElement> Fetch(EdgeProcess edge, string url)
    {
        using var r = await edge.Http.GetAsync("fetch?url=" + Uri.EscapeDataString(url));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.Content.Headers.ContentType?.MediaType == "application/json",
            $"{(int)r.StatusCode} {text}\nserver log:\n{string.Join("\n", edge.StdoutLines.TakeLast(10))}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task LoopbackAndPrivateAddressesAreRefusedByDefault()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        var loop = await Fetch(edge, $"http://127.0.0.1:{port}/x");
        Assert.Contains("not allowed", loop.GetProperty("error").GetString());
        var priv = await Fetch(edge, "http://10.20.30.40/x");      // refused before any packet is sent
        Assert.Contains("not allowed", priv.GetProperty("error").GetString());
        var meta = await Fetch(edge, "http://169.254.169.254/latest/meta-data/");
        Assert.Contains("not allowed", meta.GetProperty("error").GetString());
        Assert.Equal(0, hits);
        edge.WaitForLog(l => l.GetProperty("msg").GetString() == "fetch refused" && l.GetProperty("app").GetString() == "inspect");
    }

    [Fact]
    public async Task AnAllowedRangeIsFetchedThroughTheSupervisorWithRedirects()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--fetch-allow", "127.0.0.1/32");
        var ok = await Fetch(edge, $"http://127.0.0.1:{port}/x");
        Assert.Equal(200, ok.GetProperty("status").GetInt32());
        Assert.Equal("hello inspect at /x", ok.GetProperty("body").GetString());
        Assert.Equal("text/plain", ok.GetProperty("type").GetString());
        var redirected = await Fetch(edge, $"http://127.0.0.1:{port}/redirect");
        Assert.Equal("hello inspect at /final", redirected.GetProperty("body").GetString());
        Assert.EndsWith("/final", redirected.GetProperty("url").GetString());
        // Still refused: another private range.
        Assert.Contains("not allowed", (await Fetch(edge, "http://192.168.1.1/")).GetProperty("error").GetString());
    }


    public void Dispose()
    {
        target.Stop();
        target.Close();
    }
}
