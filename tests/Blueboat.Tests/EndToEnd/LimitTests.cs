using System.Diagnostics;
using System.Net;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>Per-request CPU and wall time, and the worker's heap: the request gets its status, the app carries on.</summary>
[Collection(TimingSensitive.Name)]
public class LimitTests
{
    [Fact]
    public async Task AnInfiniteLoopIsStoppedAtTheCpuLimitAndTheAppKeepsServing()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--cpu-limit-ms", "200");
        var boot = await edge.Http.GetStringAsync("boot-id");
        var sw = Stopwatch.StartNew();
        using var r = await edge.Http.GetAsync("loop");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("CPU time limit of 200 ms", await r.Content.ReadAsStringAsync());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        Assert.Equal(boot, await edge.Http.GetStringAsync("boot-id")); // same worker, still serving
        edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("over its limit of 200 ms"));
    }

    [Fact]
    public async Task WaitingOnTimersCostsNoCpuTime()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--cpu-limit-ms", "100");
        using var r = await edge.Http.GetAsync("sleep?ms=600");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task ARequestOverItsWallTimeGets504()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--wall-limit-ms", "500");
        using var r = await edge.Http.GetAsync("slow-answer");
        Assert.Equal(HttpStatusCode.GatewayTimeout, r.StatusCode);
        Assert.Contains("within 500 ms", await r.Content.ReadAsStringAsync());
        Assert.Equal("inspect app", await edge.Http.GetStringAsync(""));
    }

    [Fact]
    public async Task AMemoryBombKillsOnlyItsWorkerWhichIsReplaced()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--heap-limit-mb", "64", "--cpu-limit-ms", "20000");
        var boot = await edge.Http.GetStringAsync("boot-id");
        using var r = await edge.Http.GetAsync("alloc");
        Assert.True(r.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway, $"got {r.StatusCode}");
        Assert.False(edge.HasExited);
        Assert.NotEqual(boot, await edge.Http.GetStringAsync("boot-id")); // a fresh worker
    }
}
