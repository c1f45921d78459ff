using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>
/// Pre-started workers and the code cache, through the AOT binary: the pool fills at start, the
/// first request to an app takes a pool worker, the pool refills and replaces idle workers that
/// die, the server works without a pool, apps with limits of their own still get them, and the
/// second worker of an app version compiles from the code cache the first one produced.
/// </summary>
[Collection(TimingSensitive.Name)]
public class WorkerPoolTests : IDisposable
{
    private readonly TempDir work = new();
    private string StoreDir => work.Combine("store");

    private void Deploy(string app, string body, params string[] more)
    {
        var dir = work.Combine("src-" + app + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        File.WriteAllText(Path.Combine(dir, "lib", "text.mjs"), $"export const text = {JsonSerializer.Serialize(body)};\n");
        File.WriteAllText(Path.Combine(dir, "index.mjs"), """
            import { text } from "./lib/text.mjs";
            Router.get("/", () => new Response(text));
            """);
        var (exit, _, stderr) = EdgeProcess.Run(["deploy", dir, "--app", app, "--host", $"{app}.test", "--store", StoreDir, .. more]);
        Assert.True(exit == 0, $"deploy failed: {stderr}");
    }

    private static async Task<string> Get(EdgeProcess edge, string host, string path = "")
    {
        var req = new HttpRequestMessage(HttpMethod.Get, path);
        req.Headers.Host = host;
        using var r = await edge.Http.SendAsync(req);
        return $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}";
    }

    private static List<int> WaitForPool(EdgeProcess edge, int size, IEnumerable<int>? without = null)
    {
        var excluded = without?.ToHashSet() ?? [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var pids = edge.PoolWorkerPids();
            if (pids.Count == size && !pids.Any(excluded.Contains)) return pids;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"expected {size} idle pool workers, found {pids.Count} ({string.Join(",", pids)}); log:\n{string.Join("\n", edge.StdoutLines)}");
            Thread.Sleep(20);
        }
    }

    private static string SeccompMode(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("Seccomp:")).Split(':', 2)[1].Trim();

    private static bool Msg(JsonElement log, string msg) => log.GetProperty("msg").GetString() == msg;

    [Fact]
    public async Task ThePoolFillsAtStartAndItsWorkersBelongToNoApp()
    {
        Deploy("one", "one");
        var tokenFile = work.Write("token", "0123456789abcdef-secret\n");
        var adminPort = Ports.Free();
        using var edge = EdgeProcess.Start("--store", StoreDir, "--worker-pool", "3", "--admin-listen", $"127.0.0.1:{adminPort}", "--admin-token-file", tokenFile);
        var idle = WaitForPool(edge, 3);
        Assert.Empty(edge.WorkerPids());
        Assert.All(idle, pid => Assert.Contains("__worker", ProcFs.CommandLine(pid)));
        Assert.All(idle, pid => Assert.True(ProcFs.Exists(pid)));
        edge.WaitForLog(l => Msg(l, "worker pre-started") && l.GetProperty("pid").GetInt32() == idle[0]);

        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}/") };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "0123456789abcdef-secret");
        var apps = JsonDocument.Parse(await admin.GetStringAsync("apps")).RootElement;
        Assert.Empty(apps.GetProperty("running").EnumerateArray());
        var pool = apps.GetProperty("pool");
        Assert.Equal(3, pool.GetProperty("size").GetInt32());
        Assert.Equal(idle.Order(), pool.GetProperty("idle").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32()).Order());
        Assert.Contains("\"idle_workers\": 3", await admin.GetStringAsync("health"));
        Assert.Contains("\nblueboat_pool_workers_idle 3\n", await admin.GetStringAsync("metrics"));
        Assert.Contains("\nblueboat_workers_alive 0\n", await admin.GetStringAsync("metrics"));

        // Serving an app moves one worker from the pool to the app; the pool is full again after.
        Assert.Equal("200 one", await Get(edge, "one.test"));
        apps = JsonDocument.Parse(await admin.GetStringAsync("apps")).RootElement;
        var running = apps.GetProperty("running").EnumerateArray().Single();
        Assert.Contains(running.GetProperty("worker").GetProperty("pid").GetInt32(), idle);
        WaitForPool(edge, 3, without: [running.GetProperty("worker").GetProperty("pid").GetInt32()]);
    }

    [Fact]
    public async Task TheFirstRequestOfAnAppIsServedByAPreStartedWorkerAndThePoolRefills()
    {
        Deploy("first", "first");
        Deploy("second", "second");
        using var edge = EdgeProcess.Start("--store", StoreDir, "--worker-pool", "2");
        var before = WaitForPool(edge, 2);

        Assert.Equal("200 first", await Get(edge, "first.test"));
        var worker = edge.SingleWorkerPid();
        Assert.Contains(worker, before); // its process was up before the request came
        var ready = edge.WaitForLog(l => Msg(l, "worker ready") && l.GetProperty("app").GetString() == "first");
        Assert.True(ready.GetProperty("pre_started").GetBoolean());
        Assert.Equal(worker, ready.GetProperty("pid").GetInt32());
        Assert.Equal("2", SeccompMode(worker)); // locked down once its app was loaded

        var refilled = WaitForPool(edge, 2, without: [worker]);
        Assert.Equal("200 second", await Get(edge, "second.test"));
        var secondReady = edge.WaitForLog(l => Msg(l, "worker ready") && l.GetProperty("app").GetString() == "second");
        Assert.True(secondReady.GetProperty("pre_started").GetBoolean());
        Assert.Contains(secondReady.GetProperty("pid").GetInt32(), refilled);
        Assert.Equal(2, edge.WorkerPids().Count);
        Assert.Equal("200 first", await Get(edge, "first.test")); // still served by its own worker
    }

    [Fact]
    public async Task AnIdlePoolWorkerKilledIsReplacedAndRequestsStillSucceed()
    {
        Deploy("steady", "steady");
        using var edge = EdgeProcess.Start("--store", StoreDir, "--worker-pool", "2");
        var idle = WaitForPool(edge, 2);
        var victim = idle[0];
        Process.GetProcessById(victim).Kill(); // SIGKILL
        var replaced = WaitForPool(edge, 2, without: [victim]);
        Assert.DoesNotContain(victim, replaced);
        Assert.False(ProcFs.Exists(victim)); // reaped
        var log = edge.WaitForLog(l => Msg(l, "idle pre-started worker exited; replacing it") && l.GetProperty("pid").GetInt32() == victim);
        Assert.Contains("SIGKILL", log.GetProperty("how").GetString());
        Assert.Equal("200 steady", await Get(edge, "steady.test"));
        Assert.False(edge.HasExited);
    }

    [Fact]
    public async Task WithoutAPoolAppsStillStartAndServe()
    {
        Deploy("nopool", "nopool");
        using var edge = EdgeProcess.Start("--store", StoreDir, "--worker-pool", "0");
        await Task.Delay(1000);
        Assert.Empty(edge.PoolWorkerPids());
        Assert.Equal("200 nopool", await Get(edge, "nopool.test"));
        var ready = edge.WaitForLog(l => Msg(l, "worker ready"));
        Assert.False(ready.GetProperty("pre_started").GetBoolean());
        Assert.Single(edge.WorkerPids());
        Assert.Empty(edge.PoolWorkerPids());
    }

    [Fact]
    public async Task AnAppWithItsOwnHeapLimitGetsAWorkerMadeForItAndItsLimitsHold()
    {
        using var dir = new TempDir();
        new TarBuilder().Folder(TestPaths.App("inspect")).WriteTo(dir.Combine("app.tar"));
        // The CPU limit leaves the allocation loop room to reach the heap limit first on a slow, shared machine.
        dir.Write("metadata.json", """{"version":"1","package":"app.tar","env":{},"limits":{"heap_mb":48,"cpu_ms":400}}""");
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"), "--cpu-limit-ms", "5000", "--worker-pool", "2");
        WaitForPool(edge, 1); // one app needs at most one spare
        var boot = await edge.Http.GetStringAsync("boot-id");
        var ready = edge.WaitForLog(l => Msg(l, "worker ready"));
        Assert.False(ready.GetProperty("pre_started").GetBoolean()); // the pool's engines are made for 128 MB

        using (var loop = await edge.Http.GetAsync("loop"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, loop.StatusCode);
            Assert.Contains("limit of 400 ms", await loop.Content.ReadAsStringAsync());
        }
        using (var alloc = await edge.Http.GetAsync("alloc"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, alloc.StatusCode);
            Assert.Contains("memory limit of 48 MB", await alloc.Content.ReadAsStringAsync());
        }
        Assert.NotEqual(boot, await edge.Http.GetStringAsync("boot-id")); // replaced after its heap was spent
    }

    [Fact]
    public async Task TheHeapLimitStopsALeakSpreadOverManyRequestsButNotAnAppThatMakesMuchGarbage()
    {
        using var dir = new TempDir();
        new TarBuilder().Folder(TestPaths.App("inspect")).WriteTo(dir.Combine("app.tar"));
        dir.Write("metadata.json", """{"version":"1","package":"app.tar","env":{},"limits":{"heap_mb":48,"cpu_ms":2000}}""");
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"), "--cpu-limit-ms", "5000");
        var boot = await edge.Http.GetStringAsync("boot-id");

        // Far more garbage than the limit, in one run of JS and over many requests: never stopped.
        for (var i = 0; i < 5; i++)
        {
            using var churn = await edge.Http.GetAsync("churn");
            Assert.Equal(HttpStatusCode.OK, churn.StatusCode);
        }
        Assert.Equal(boot, await edge.Http.GetStringAsync("boot-id"));

        // About 1 MB kept per request: answered until the heap reaches its limit, then 503.
        var answered = 0;
        while (true)
        {
            using var leak = await edge.Http.GetAsync("leak");
            if (leak.StatusCode != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, leak.StatusCode);
                Assert.Contains("memory limit of 48 MB", await leak.Content.ReadAsStringAsync());
                break;
            }
            answered++;
            Assert.True(answered < 200, "the leak was never stopped");
        }
        Assert.InRange(answered, 10, 199); // it kept what fits
        Assert.NotEqual(boot, await edge.Http.GetStringAsync("boot-id")); // the worker was replaced
        edge.WaitForLog(l => l.TryGetProperty("msg", out var m) && m.GetString()!.StartsWith("worker stopped: the app exceeded its heap limit of 48 MB"));
    }

    [Fact]
    public async Task AnAppWithTheDefaultHeapButItsOwnCpuLimitRunsInAPoolWorkerUnderThatLimit()
    {
        using var dir = new TempDir();
        new TarBuilder().Folder(TestPaths.App("inspect")).WriteTo(dir.Combine("app.tar"));
        dir.Write("metadata.json", """{"version":"1","package":"app.tar","env":{},"limits":{"cpu_ms":100}}""");
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"), "--cpu-limit-ms", "5000");
        var pool = WaitForPool(edge, 1);
        using var loop = await edge.Http.GetAsync("loop");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, loop.StatusCode);
        Assert.Contains("limit of 100 ms", await loop.Content.ReadAsStringAsync());
        var ready = edge.WaitForLog(l => Msg(l, "worker ready"));
        Assert.True(ready.GetProperty("pre_started").GetBoolean());
        Assert.Contains(ready.GetProperty("pid").GetInt32(), pool);
    }

    [Fact]
    public async Task TheSecondWorkerOfAnAppVersionCompilesFromTheCodeCacheOfTheFirst()
    {
        Deploy("cached", "cached");
        using var edge = EdgeProcess.Start("--store", StoreDir, "--idle-timeout-secs", "1");
        Assert.Equal("200 cached", await Get(edge, "cached.test"));
        var first = edge.WaitForLog(l => Msg(l, "worker ready"));
        Assert.Equal("none", first.GetProperty("code_cache").GetString());
        var kept = edge.WaitForLog(l => Msg(l, "code cache kept"));
        Assert.Equal(2, kept.GetProperty("modules").GetInt32()); // index.mjs and lib/text.mjs
        Assert.True(kept.GetProperty("bytes").GetInt64() > 0);

        // The worker is evicted when idle; the version's cache stays for its next worker.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (edge.WorkerPids().Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Empty(edge.WorkerPids());
        Assert.Equal("200 cached", await Get(edge, "cached.test"));
        var second = edge.WaitForLog(l => Msg(l, "worker ready") && l.GetProperty("pid").GetInt32() != first.GetProperty("pid").GetInt32());
        Assert.Equal("accepted", second.GetProperty("code_cache").GetString());
    }

    public void Dispose() => work.Dispose();
}
