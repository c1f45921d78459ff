using System.Diagnostics;
using System.Net;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>
/// One hostile app at a time, while a healthy app on the same server is under steady load: the
/// hostile request gets its documented status, its worker is replaced where it died, and the
/// healthy app sees no failed request at all.
/// </summary>
[Collection(TimingSensitive.Name)]
public class IsolationTests : IDisposable
{
    private readonly TempDir store = new();
    private readonly EdgeProcess edge;

    public IsolationTests()
    {
        Deploy(TestPaths.Example("hello-world"), "healthy", "healthy.test");
        Deploy(TestPaths.App("inspect"), "hostile", "hostile.test");
        edge = EdgeProcess.Start("--store", store.Path, "--cpu-limit-ms", "200", "--heap-limit-mb", "64");
    }

    private void Deploy(string dir, string app, string host)
    {
        var (exit, _, stderr) = EdgeProcess.Run("deploy", dir, "--app", app, "--host", host, "--store", store.Path);
        Assert.True(exit == 0, stderr);
    }

    private async Task<HttpResponseMessage> Hostile(string path)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, path);
        req.Headers.Host = "hostile.test";
        return await edge.Http.SendAsync(req);
    }

    private int HostileWorker() =>
        edge.WorkerPids().Single(pid => edge.Logs().Any(l => l.GetProperty("msg").GetString() == "worker ready"
            && l.GetProperty("app").GetString() == "hostile" && l.GetProperty("pid").GetInt32() == pid));

    /// <summary>Runs <paramref name="attack"/> while two clients keep requesting the healthy app.</summary>
    private async Task UnderLoad(Func<Task> attack)
    {
        var failures = 0;
        var served = 0;
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var req = new HttpRequestMessage(HttpMethod.Get, "");
                    req.Headers.Host = "healthy.test";
                    using var r = await edge.Http.SendAsync(req);
                    if (r.StatusCode == HttpStatusCode.OK && await r.Content.ReadAsStringAsync() == "hello world") Interlocked.Increment(ref served);
                    else Interlocked.Increment(ref failures);
                }
                catch (HttpRequestException) { Interlocked.Increment(ref failures); }
            }
        })).ToList();
        await Task.Delay(300);
        await attack();
        await Task.Delay(300);
        stop.Cancel();
        await Task.WhenAll(load);
        Assert.Equal(0, failures);
        Assert.True(served > 20, $"the healthy app served only {served} requests");
        // The hostile app is back to normal service afterwards.
        using var after = await Hostile("");
        Assert.Equal("inspect app", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public Task AnInfiniteLoopGets503() => UnderLoad(async () =>
    {
        using var r = await Hostile("loop");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
    });

    [Fact]
    public Task AMemoryBombGets503Or502AndItsWorkerIsReplaced() => UnderLoad(async () =>
    {
        using var r = await Hostile("alloc");
        Assert.True(r.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway, $"got {r.StatusCode}");
    });

    [Fact]
    public Task EndlessArrayBuffersAreRefusedWithThe500Page() => UnderLoad(async () =>
    {
        using var r = await Hostile("arraybuffers");
        Assert.True(r.StatusCode is HttpStatusCode.InternalServerError or HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway, $"got {r.StatusCode}");
    });

    [Fact]
    public Task FetchingLoopbackOrAPrivateAddressIsRefused() => UnderLoad(async () =>
    {
        foreach (var url in new[] { $"http://127.0.0.1:{edge.Port}/_blueboat/health", "http://10.0.0.1/", "http://[::1]/" })
        {
            using var r = await Hostile("fetch?url=" + Uri.EscapeDataString(url));
            Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode); // the app's own answer to a rejected fetch
            Assert.Contains("not allowed", await r.Content.ReadAsStringAsync());
        }
    });

    [Theory]
    [InlineData(9)]  // kill -9
    [InlineData(11)] // a native crash (SIGSEGV)
    public Task AWorkerThatDiesFailsOnlyItsOwnRequestsAndIsReplaced(int signal) => UnderLoad(async () =>
    {
        using (await Hostile("")) { }
        var victim = HostileWorker();
        var inFlight = Hostile("hang");
        await Task.Delay(200);
        Assert.Equal(0, Posix.Kill(victim, signal));
        using var r = await inFlight;
        Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode);
    });

    public void Dispose()
    {
        edge.Dispose();
        store.Dispose();
    }
}
