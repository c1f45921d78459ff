using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>Many apps from one store through the AOT binary: host routes, trusted proxies, deploys, rollbacks, eviction, the admin endpoint.</summary>
[Collection(TimingSensitive.Name)]
public class MultiTenantTests : IDisposable
{
    private readonly TempDir work = new();
    private string StoreDir => work.Combine("store");

    /// <summary>A one-file app answering its own version in the body and in a header.</summary>
    private string VersionApp(string version, string? extra = null)
    {
        var dir = work.Combine("src-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "index.js"), $$"""
            const V = "{{version}}";
            Router.get("/", () => new Response(V, { headers: { "x-version": V } }));
            Router.get("/env", () => new Response(App.env.NAME ?? "none"));
            Router.get("/slow", async () => { await new Promise((r) => setTimeout(r, 1500)); return new Response(V, { headers: { "x-version": V } }); });
            {{extra}}
            """);
        return dir;
    }

    private void Deploy(string dir, string app, params string[] more)
    {
        var (exit, stdout, stderr) = EdgeProcess.Run(["deploy", dir, "--app", app, "--store", StoreDir, .. more]);
        Assert.True(exit == 0, $"deploy failed: {stderr}");
        Assert.Contains($"deployed {app} v", stdout);
    }

    private static async Task<string> Get(EdgeProcess edge, string host, string path = "", Action<HttpRequestMessage>? with = null)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, path);
        req.Headers.Host = host;
        with?.Invoke(req);
        using var r = await edge.Http.SendAsync(req);
        return $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}";
    }

    [Fact]
    public async Task TwoAppsUnderTwoHostNamesAndAWildcard()
    {
        Deploy(VersionApp("alpha-1"), "alpha", "--host", "alpha.test", "--env", "NAME=first");
        Deploy(VersionApp("beta-1"), "beta", "--host", "*.beta.test");
        using var edge = EdgeProcess.Start("--store", StoreDir);
        Assert.Equal("200 alpha-1", await Get(edge, "alpha.test"));
        Assert.Equal("200 alpha-1", await Get(edge, "ALPHA.test:8080"));
        Assert.Equal("200 first", await Get(edge, "alpha.test", "env"));
        Assert.Equal("200 beta-1", await Get(edge, "x.beta.test"));
        Assert.Equal("200 beta-1", await Get(edge, "a.b.beta.test"));
        Assert.StartsWith("404 no app is deployed for host beta.test", await Get(edge, "beta.test"));
        var workers = edge.WorkerPids().Count;
        Assert.StartsWith("404 no app is deployed for host nobody.test", await Get(edge, "nobody.test"));
        Assert.Equal(workers, edge.WorkerPids().Count); // an unknown host runs no app code
        Assert.Equal(2, workers);
    }

    [Fact]
    public async Task ProxyHeadersAreHonouredOnlyFromTrustedAddresses()
    {
        Deploy(VersionApp("public-1"), "public", "--host", "public.test");
        Deploy(VersionApp("secret-1", "console.log('secret app evaluated');"), "secret");
        var echo = VersionApp("echo-1", "Router.get('/headers', (req) => Response.json(Object.fromEntries(req.headers)));");
        Deploy(echo, "echo", "--host", "echo.test");

        using (var untrusted = EdgeProcess.Start("--store", StoreDir, "--trusted-proxy", "10.0.0.0/8"))
        {
            var body = await Get(untrusted, "public.test", "", r => r.Headers.Add("x-blueboat-metadata", "apps/secret/metadata.json"));
            Assert.Equal("200 public-1", body);
            var seen = await Get(untrusted, "echo.test", "headers", r => { r.Headers.Add("x-blueboat-metadata", "apps/secret/metadata.json"); r.Headers.Add("x-blueboat-client-ip", "6.6.6.6"); });
            Assert.DoesNotContain("x-blueboat-metadata", seen);
            Assert.DoesNotContain("6.6.6.6", seen);
            Assert.DoesNotContain(untrusted.Logs(), l => l.GetProperty("msg").GetString() == "secret app evaluated");
            Assert.DoesNotContain(untrusted.Logs(), l => l.TryGetProperty("app", out var a) && a.GetString() == "secret");
        }

        using var trusted = EdgeProcess.Start("--store", StoreDir, "--trusted-proxy", "127.0.0.1/32");
        Assert.Equal("200 secret-1", await Get(trusted, "anything.test", "", r => r.Headers.Add("x-blueboat-metadata", "apps/secret/metadata.json")));
        var passed = await Get(trusted, "echo.test", "headers", r => r.Headers.Add("x-blueboat-client-ip", "203.0.113.7"));
        Assert.Contains("203.0.113.7", passed);
        Assert.StartsWith("404", await Get(trusted, "x.test", "", r => r.Headers.Add("x-blueboat-metadata", "apps/nothing/metadata.json")));
    }

    [Fact]
    public async Task BlueboatMadeMetadataAndTarAreServedUntouched()
    {
        // As Blueboat's tools lay them out: metadata names its package by key; unknown fields are ignored.
        Directory.CreateDirectory(Path.Combine(StoreDir, "tenants", "t1"));
        var tar = new TarBuilder().Directory("./").File("./index.js", "Router.get('/', () => new Response('blueboat ' + App.env.MODE));").Build();
        File.WriteAllBytes(Path.Combine(StoreDir, "tenants", "t1", "pkg-7.tar"), tar);
        File.WriteAllText(Path.Combine(StoreDir, "tenants", "t1", "meta.json"),
            """{"version":"7","package":"tenants/t1/pkg-7.tar","env":{"MODE":"compat"},"mysql":{},"kv_namespaces":{},"pubsub":{}}""");
        using var edge = EdgeProcess.Start("--store", StoreDir, "--trusted-proxy", "127.0.0.1/32");
        Assert.Equal("200 blueboat compat", await Get(edge, "any.test", "", r => r.Headers.Add("x-blueboat-metadata", "tenants/t1/meta.json")));
    }

    [Fact]
    public async Task ADeployIsLiveWithinASecondAndRollbackWorks()
    {
        Deploy(VersionApp("v-one"), "site", "--host", "site.test");
        using var edge = EdgeProcess.Start("--store", StoreDir);
        Assert.Equal("200 v-one", await Get(edge, "site.test"));

        // A request in flight on the old version finishes there.
        var slow = Get(edge, "site.test", "slow");
        await Task.Delay(200);
        Deploy(VersionApp("v-two"), "site");
        var sw = Stopwatch.StartNew();
        while (await Get(edge, "site.test") != "200 v-two")
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), "the new version was not live within 1 s");
            await Task.Delay(10);
        }
        Assert.Equal("200 v-one", await slow);

        var (exit, stdout, _) = EdgeProcess.Run("apps", "rollback", "site", "--store", StoreDir);
        Assert.Equal(0, exit);
        Assert.Contains("site is now at v1-", stdout);
        sw.Restart();
        while (await Get(edge, "site.test") != "200 v-one")
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), "the rollback was not live within 1 s");
            await Task.Delay(10);
        }
        var (_, shown, _) = EdgeProcess.Run("apps", "show", "site", "--store", StoreDir);
        Assert.Contains("rollback to v1-", shown);
        var (_, listed, _) = EdgeProcess.Run("apps", "list", "--store", StoreDir);
        Assert.Contains("site\tv1-", listed);
        // The retired version's worker goes away once idle.
        await Task.Delay(2500);
        Assert.Single(edge.WorkerPids());
    }

    [Fact]
    public async Task AHostIsMovedToAnotherAppOnceItsRouteIsRemoved()
    {
        Deploy(VersionApp("first"), "first", "--host", "moving.test");
        var (refused, _, why) = EdgeProcess.Run("deploy", VersionApp("second"), "--app", "second", "--host", "moving.test", "--store", StoreDir);
        Assert.Equal(1, refused);
        Assert.Contains("apps unroute moving.test", why);
        using var edge = EdgeProcess.Start("--store", StoreDir);
        Assert.Equal("200 first", await Get(edge, "moving.test"));

        var (exit, stdout, _) = EdgeProcess.Run("apps", "unroute", "moving.test", "--store", StoreDir);
        Assert.Equal(0, exit);
        Assert.Contains("moving.test no longer routes to first", stdout);
        var sw = Stopwatch.StartNew();
        while (!(await Get(edge, "moving.test")).StartsWith("404"))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), "the removed route still served");
            await Task.Delay(20);
        }
        Deploy(VersionApp("second"), "second", "--host", "moving.test");
        sw.Restart();
        while (await Get(edge, "moving.test") != "200 second")
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), "the host did not move to the other app");
            await Task.Delay(20);
        }
        var (_, listed, _) = EdgeProcess.Run("apps", "list", "--store", StoreDir);
        Assert.Contains("first\tv1-", listed); // still deployed, with no host now
        var (missing, _, err) = EdgeProcess.Run("apps", "unroute", "nowhere.test", "--store", StoreDir);
        Assert.Equal(1, missing);
        Assert.Contains("has no route", err);
    }

    [Fact]
    public async Task BrokenVersionsNeverTakeDownOtherAppsOrTheLiveVersion()
    {
        Deploy(VersionApp("ok-1"), "ok", "--host", "ok.test");
        Deploy(VersionApp("fragile-1"), "fragile", "--host", "fragile.test");
        using var edge = EdgeProcess.Start("--store", StoreDir, "--metadata-ttl-ms", "200");
        Assert.Equal("200 fragile-1", await Get(edge, "fragile.test"));

        // Metadata switched to a package that does not exist: the live version keeps serving.
        var metaPath = Path.Combine(StoreDir, "apps", "fragile", "metadata.json");
        var good = File.ReadAllText(metaPath);
        File.WriteAllText(metaPath, """{"version":"ghost","package":"packages/missing.tar","env":{}}""");
        await Task.Delay(600);
        Assert.Equal("200 fragile-1", await Get(edge, "fragile.test"));
        Assert.Contains(edge.Logs(), l => l.GetProperty("msg").GetString()!.Contains("previous one keeps serving"));

        // A corrupted tar for a never-loaded app: 503 naming it; other apps serve.
        Directory.CreateDirectory(Path.Combine(StoreDir, "apps", "broken"));
        File.WriteAllText(Path.Combine(StoreDir, "packages", "corrupt.tar"), new string('x', 5000));
        File.WriteAllText(Path.Combine(StoreDir, "apps", "broken", "metadata.json"), """{"version":"1","package":"packages/corrupt.tar","env":{}}""");
        using var restart = EdgeProcess.Start("--store", StoreDir, "--trusted-proxy", "127.0.0.1/32");
        var broken = await Get(restart, "x", "", r => r.Headers.Add("x-blueboat-metadata", "apps/broken/metadata.json"));
        Assert.StartsWith("503 app broken cannot be loaded", broken);
        Assert.Contains("not a valid tar", broken);
        File.WriteAllText(metaPath, """{"version":"ghost","package":"packages/missing.tar","env":{}}""");
        var missing = await Get(restart, "fragile.test");
        Assert.StartsWith("503", missing);
        Assert.Contains("does not exist", missing);
        Assert.Equal("200 ok-1", await Get(restart, "ok.test"));
        File.WriteAllText(metaPath, good);
    }

    [Fact]
    public async Task AVersionThatFailsToStartNeverReplacesTheOneServing()
    {
        Deploy(VersionApp("good-1"), "guarded", "--host", "guarded.test");
        using var edge = EdgeProcess.Start("--store", StoreDir);
        Assert.Equal("200 good-1", await Get(edge, "guarded.test"));
        Deploy(TestPaths.App("syntax-error"), "guarded");
        await Task.Delay(1500);
        for (var i = 0; i < 5; i++) Assert.Equal("200 good-1", await Get(edge, "guarded.test"));
        edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("failed to start; the previous one keeps serving"));
        Deploy(VersionApp("good-2"), "guarded");
        var deadline = DateTime.UtcNow.AddSeconds(3);
        while (await Get(edge, "guarded.test") != "200 good-2") { Assert.True(DateTime.UtcNow < deadline); await Task.Delay(20); }
    }

    [Fact]
    public async Task AChangedEnvIsServedByANewWorkerEvenUnderTheSameVersion()
    {
        Deploy(VersionApp("same"), "envy", "--host", "envy.test", "--env", "NAME=old");
        using var edge = EdgeProcess.Start("--store", StoreDir);
        Assert.Equal("200 old", await Get(edge, "envy.test", "env"));
        var metaPath = Path.Combine(StoreDir, "apps", "envy", "metadata.json");
        File.WriteAllText(metaPath, File.ReadAllText(metaPath).Replace("\"old\"", "\"new\""));
        var deadline = DateTime.UtcNow.AddSeconds(3);
        while (await Get(edge, "envy.test", "env") != "200 new") { Assert.True(DateTime.UtcNow < deadline, "env change not picked up"); await Task.Delay(20); }
    }

    [Fact]
    public async Task ConcurrentDeploysLoseNoRouteAndNoVersion()
    {
        var apps = Enumerable.Range(0, 8).Select(i => (Dir: VersionApp($"par-{i}"), Name: $"par{i}")).ToList();
        await Task.WhenAll(apps.Select(a => Task.Run(() => Deploy(a.Dir, a.Name, "--host", $"{a.Name}.test"))));
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => Deploy(VersionApp($"same-{i}"), "same"))));
        using var edge = EdgeProcess.Start("--store", StoreDir);
        foreach (var a in apps) Assert.Equal($"200 par-{a.Name[3..]}", await Get(edge, $"{a.Name}.test"));
        var (_, shown, _) = EdgeProcess.Run("apps", "show", "same", "--store", StoreDir);
        var versions = shown.Split('\n').Where(l => l.StartsWith("  v")).Select(l => l.Trim().Split('\t')[0]).ToList();
        Assert.Equal(6, versions.Count);
        Assert.Equal(6, versions.Distinct().Count());
    }

    [Fact]
    public async Task IdleWorkersAreEvictedAndComeBackOnDemand()
    {
        Deploy(VersionApp("idle-1"), "idle", "--host", "idle.test");
        using var edge = EdgeProcess.Start("--store", StoreDir, "--idle-timeout-secs", "1");
        Assert.Equal("200 idle-1", await Get(edge, "idle.test"));
        var first = edge.SingleWorkerPid();
        var deadline = DateTime.UtcNow.AddSeconds(6);
        while (edge.WorkerPids().Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Empty(edge.WorkerPids());
        Assert.False(ProcFs.Exists(first));
        Assert.Equal("200 idle-1", await Get(edge, "idle.test"));
        Assert.NotEqual(first, edge.SingleWorkerPid());
    }

    [Fact]
    public async Task AdminEndpointNeedsItsTokenAndDrivesDeploys()
    {
        Deploy(VersionApp("adm-1"), "adm", "--host", "adm.test");
        var tokenFile = work.Write("token", "0123456789abcdef-secret\n");
        var adminPort = Ports.Free();
        using var edge = EdgeProcess.Start("--store", StoreDir, "--admin-listen", $"127.0.0.1:{adminPort}", "--admin-token-file", tokenFile);
        Assert.Equal("200 adm-1", await Get(edge, "adm.test"));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}/") };

        using (var anonymous = await admin.GetAsync("apps")) Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token-wrong-token");
        using (var wrong = await admin.GetAsync("health")) Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "0123456789abcdef-secret");

        Assert.Contains("\"ok\"", await admin.GetStringAsync("health"));
        var apps = JsonDocument.Parse(await admin.GetStringAsync("apps")).RootElement;
        var running = apps.GetProperty("running").EnumerateArray().Single();
        Assert.Equal("adm", running.GetProperty("app").GetString());
        Assert.Equal(edge.SingleWorkerPid(), running.GetProperty("worker").GetProperty("pid").GetInt32());
        Assert.True(running.GetProperty("worker").GetProperty("rss_bytes").GetInt64() > 1_000_000);
        Assert.Equal(1, running.GetProperty("worker").GetProperty("requests_served").GetInt64());

        var tar = new TarBuilder().File("index.js", "Router.get('/', () => new Response('adm-2 ' + App.env.NAME));").Build();
        using var deploy = await admin.PostAsync("apps/adm/deploy?env=NAME=via-admin", new ByteArrayContent(tar));
        Assert.Equal(HttpStatusCode.OK, deploy.StatusCode);
        var sw = Stopwatch.StartNew();
        while (await Get(edge, "adm.test") != "200 adm-2 via-admin")
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2));
            await Task.Delay(20);
        }
        using var rollback = await admin.PostAsync("apps/adm/rollback", null);
        Assert.Contains("v1-", await rollback.Content.ReadAsStringAsync());
        using var bad = await admin.PostAsync("apps/adm/deploy", new ByteArrayContent("not a tar"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var huge = await admin.PostAsync("apps/adm/deploy", new ByteArrayContent(new byte[300 * 1024 * 1024]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        using var unknown = await admin.PostAsync("apps/nobody/rollback", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task DeployUnderLoadDropsNothingAndNeverMixesVersions()
    {
        Deploy(VersionApp("load-0"), "load", "--host", "load.test");
        using var edge = EdgeProcess.Start("--store", StoreDir);
        Assert.Equal("200 load-0", await Get(edge, "load.test"));

        var failures = 0;
        var mixed = 0;
        var total = 0;
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, DateTime>(); // version -> first time served
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var req = new HttpRequestMessage(HttpMethod.Get, "");
                    req.Headers.Host = "load.test";
                    using var r = await edge.Http.SendAsync(req);
                    var body = await r.Content.ReadAsStringAsync();
                    Interlocked.Increment(ref total);
                    if (r.StatusCode != HttpStatusCode.OK) { Interlocked.Increment(ref failures); continue; }
                    if (r.Headers.GetValues("x-version").Single() != body) Interlocked.Increment(ref mixed);
                    seen.TryAdd(body, DateTime.UtcNow);
                }
                catch (HttpRequestException) { Interlocked.Increment(ref failures); }
            }
        })).ToList();

        var lags = new List<double>();
        for (var i = 1; i <= 10; i++)
        {
            await Task.Delay(300);
            Deploy(VersionApp($"load-{i}"), "load");
            var deployed = DateTime.UtcNow;
            var deadline = deployed.AddSeconds(1);
            while (!seen.ContainsKey($"load-{i}") && DateTime.UtcNow < deadline) await Task.Delay(5);
            Assert.True(seen.TryGetValue($"load-{i}", out var first), $"load-{i} was not served within 1 s of its deploy; log:\n" + string.Join("\n", edge.StdoutLines.TakeLast(15)));
            lags.Add((first - deployed).TotalMilliseconds);
        }
        stop.Cancel();
        await Task.WhenAll(clients);
        Assert.Equal(0, failures);
        Assert.Equal(0, mixed);
        Assert.True(total > 100, $"only {total} requests were made");
    }


    public void Dispose() => work.Dispose();
}
