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
    public async Task JavaScriptBlockedWithoutCpuIsStoppedAtTheWallLimitAndTheAppServesAgain()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--wall-limit-ms", "1000");
        var boot = await edge.Http.GetStringAsync("boot-id");
        using (var r = await edge.Http.GetAsync("block"))
            Assert.Equal(HttpStatusCode.GatewayTimeout, r.StatusCode);
        // The worker's loop was stuck in Atomics.wait: requests after it must not all time out too.
        var sw = Stopwatch.StartNew();
        using (var r = await edge.Http.GetAsync("boot-id"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(boot, await r.Content.ReadAsStringAsync()); // the same worker, its engine interrupted
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed}");
        edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("past the wall limit of 1000 ms"));
        // A wait shorter than the limit is left alone.
        Assert.Equal("woke", await edge.Http.GetStringAsync("block?ms=200"));
    }

    [Fact]
    public async Task AnAppWhoseWorkersKeepDyingBacksOffAndSaysSo()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("crashes-on-first-request"), "--heap-limit-mb", "32", "--worker-memory-mb", "256");
        for (var i = 0; i < 3; i++)
        {
            using var dead = await edge.Http.GetAsync("die");
            if (dead.StatusCode == HttpStatusCode.ServiceUnavailable && (await dead.Content.ReadAsStringAsync()).Contains("keeps crashing")) break;
            await Task.Delay(50);
        }
        var backoff = edge.WaitForLog(l => l.GetProperty("msg").GetString() == "app keeps failing; backing off");
        Assert.True(backoff.GetProperty("failures_in_a_row").GetInt32() >= 2);
        using var r = await edge.Http.GetAsync("");
        if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
            Assert.Contains("keeps crashing", await r.Content.ReadAsStringAsync());
        // After the back-off the app is started again.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var again = await edge.Http.GetAsync("");
            if (again.StatusCode == HttpStatusCode.OK) break;
            Assert.True(DateTime.UtcNow < deadline, "the app did not come back after its back-off");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task RequestsBeyondTheConcurrencyLimitGet503()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--max-concurrent-requests", "3");
        await edge.Http.GetStringAsync("");
        var slow = Enumerable.Range(0, 3).Select(_ => edge.Http.GetAsync("sleep?ms=1500")).ToList();
        await Task.Delay(500);
        using var extra = await edge.Http.GetAsync("");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, extra.StatusCode);
        Assert.Contains("limit of 3 concurrent requests", await extra.Content.ReadAsStringAsync());
        foreach (var t in slow) using (var r = await t) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task AnAppsMetadataCanSetItsOwnLimits()
    {
        using var dir = new TempDir();
        new TarBuilder().Folder(TestPaths.App("inspect")).WriteTo(dir.Combine("app.tar"));
        dir.Write("metadata.json", """{"version":"1","package":"app.tar","env":{},"limits":{"cpu_ms":100}}""");
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"), "--cpu-limit-ms", "5000");
        using var r = await edge.Http.GetAsync("loop");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("limit of 100 ms", await r.Content.ReadAsStringAsync());
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

    [Fact]
    public async Task ARequestThatTakesTheHeapPastItsLimitGets503AndTheWorkerIsReplaced()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--heap-limit-mb", "32", "--worker-memory-mb", "1024", "--cpu-limit-ms", "20000");
        var boot = await edge.Http.GetStringAsync("boot-id");
        // 40 MB in one request: past the limit from a small heap, in a single run of JS.
        using (var r = await edge.Http.GetAsync("hold?mb=40"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("memory limit of 32 MB", await r.Content.ReadAsStringAsync());
        }
        var second = await edge.Http.GetStringAsync("boot-id");
        Assert.NotEqual(boot, second);

        // 4 MB a request: answered while it fits, then 503 well before twice the limit is held.
        var answered = 0;
        while (true)
        {
            using var r = await edge.Http.GetAsync("hold?mb=4");
            if (r.StatusCode != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
                break;
            }
            answered++;
            Assert.True(answered < 12, "4 MB a request was held past 48 MB");
        }
        Assert.InRange(answered, 4, 11);
        Assert.NotEqual(second, await edge.Http.GetStringAsync("boot-id"));
    }

    [Fact]
    public async Task AnAnswerGivenBeforeItsMicrotasksRunOutOfCpuStillGoesOut()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--cpu-limit-ms", "200");
        var boot = await edge.Http.GetStringAsync("boot-id");
        using var r = await edge.Http.GetAsync("answer-then-spin");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("answered", await r.Content.ReadAsStringAsync());
        Assert.Equal(boot, await edge.Http.GetStringAsync("boot-id"));
    }

    [Fact]
    public async Task RequestsWaitingForAWorkerThatRetiresGet503NotALostRequest()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--heap-limit-mb", "64", "--worker-memory-mb", "2048", "--cpu-limit-ms", "20000");
        await edge.Http.GetStringAsync("boot-id");
        // Together they hold far past the limit: the worker retires while most of them still wait for it.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            using var r = await edge.Http.GetAsync("hold?mb=25");
            return r.StatusCode;
        }));
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"got {s}"));
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
    }
}
