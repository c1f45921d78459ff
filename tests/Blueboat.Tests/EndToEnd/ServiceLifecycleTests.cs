using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>
/// The server as a service: SIGTERM drains, SIGHUP reloads, systemd hears READY=1 and watchdog
/// pings, sockets come from socket activation, /metrics counts traffic.
/// </summary>
[Collection(TimingSensitive.Name)]
public class ServiceLifecycleTests
{
    private const int SIGHUP = 1, SIGTERM = 15;
    private static readonly string Inspect = TestPaths.App("inspect");

    private static async Task<PrometheusScrape> ScrapeAsync(int adminPort)
    {
        using var http = new HttpClient();
        using var r = await http.GetAsync($"http://127.0.0.1:{adminPort}/metrics");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.StartsWith("text/plain; version=0.0.4", r.Content.Headers.ContentType!.ToString());
        return PrometheusScrape.Parse(await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SigtermStopsAcceptingFinishesRequestsInFlightAndExitsZero()
    {
        var adminPort = Ports.Free();
        using var edge = EdgeProcess.Start("--app", Inspect, "--admin-listen", $"127.0.0.1:{adminPort}");
        (await edge.Http.GetAsync("sleep?ms=1")).Dispose(); // the worker is up

        // Load: short requests from a few loops, each recording when it started and how it ended.
        var results = new System.Collections.Concurrent.ConcurrentBag<(DateTime Started, bool Ok)>();
        using var stopLoad = new CancellationTokenSource();
        var loops = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var client = new HttpClient { BaseAddress = edge.BaseUri, Timeout = TimeSpan.FromSeconds(20) };
            while (!stopLoad.IsCancellationRequested)
            {
                var started = DateTime.UtcNow;
                try
                {
                    using var r = await client.GetAsync("sleep?ms=20");
                    results.Add((started, r.StatusCode == HttpStatusCode.OK));
                }
                catch (HttpRequestException) { results.Add((started, false)); await Task.Delay(20); }
            }
        })).ToList();
        await Task.Delay(1000); // load running well before the signal

        // Slow requests certainly in flight when SIGTERM arrives: the server counts them.
        const int slow = 24;
        using var slowClient = new HttpClient { BaseAddress = edge.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        var slowRequests = Enumerable.Range(0, slow).Select(_ => slowClient.GetAsync("sleep?ms=2500")).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await ScrapeAsync(adminPort)).Value("blueboat_requests_in_flight") < slow)
        {
            Assert.True(DateTime.UtcNow < deadline, "the slow requests never were all in flight");
            await Task.Delay(20);
        }

        var signalled = DateTime.UtcNow;
        edge.Signal(SIGTERM);
        await Task.Delay(500);
        // While the slow requests still run, a new connection is refused: accepting stopped.
        using (var fresh = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
            await Assert.ThrowsAsync<HttpRequestException>(() => fresh.GetAsync(edge.BaseUri + "sleep?ms=1"));

        foreach (var request in slowRequests)
        {
            using var r = await request;
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        Assert.Equal(0, edge.WaitForExit(TimeSpan.FromSeconds(20)));
        stopLoad.Cancel();
        await Task.WhenAll(loops);

        // A request sent well before SIGTERM was accepted; none of those may fail.
        var before = results.Where(r => r.Started < signalled - TimeSpan.FromMilliseconds(500)).ToList();
        Assert.NotEmpty(before);
        Assert.Equal(0, before.Count(r => !r.Ok));
        Assert.Contains(edge.Logs(), l => l.GetProperty("msg").GetString()!.StartsWith("stopping: no new connections"));
    }

    [Fact]
    public async Task ARequestStillRunningAtTheDeadlineIsCutAndTheServerStillExitsZero()
    {
        using var edge = EdgeProcess.Start("--app", Inspect, "--shutdown-timeout-secs", "1");
        (await edge.Http.GetAsync("sleep?ms=1")).Dispose();
        var stuck = edge.Http.GetAsync("sleep?ms=20000");
        await Task.Delay(300);
        var clock = Stopwatch.StartNew();
        edge.Signal(SIGTERM);
        Assert.Equal(0, edge.WaitForExit(TimeSpan.FromSeconds(15)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed} to stop with a 1 s deadline");
        await Assert.ThrowsAnyAsync<Exception>(async () => (await stuck).EnsureSuccessStatusCode());
    }

    [Fact]
    public void StartedUnderNohupItStillReloadsOnSighupAndDrainsOnSigterm()
    {
        // nohup (and a script's background job) leaves signals ignored across exec; the
        // service's own control signals must work all the same.
        using var dir = new TempDir();
        var config = dir.Write("edge.conf", $"app = {Inspect}\n");
        using var edge = EdgeProcess.StartWith(psi =>
        {
            psi.ArgumentList.Insert(0, psi.FileName);
            psi.FileName = "nohup";
        }, "--config", config);
        edge.Signal(SIGHUP);
        edge.WaitForLog(l => l.GetProperty("msg").GetString() == "reloaded");
        Assert.False(edge.HasExited);
        edge.Signal(SIGTERM);
        Assert.Equal(0, edge.WaitForExit(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task SighupReloadsTheFileWithoutDroppingConnections()
    {
        using var dir = new TempDir();
        var config = dir.Write("edge.conf", $"app = {Inspect}\nmax-request-body = 10\n");
        using var edge = EdgeProcess.Start("--config", config);
        var body = new string('x', 50);
        using (var r = await edge.Http.PostAsync("size", new StringContent(body)))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);

        // A request in flight across the reload finishes on its connection.
        var across = edge.Http.GetAsync("sleep?ms=1500");
        await Task.Delay(200);
        File.WriteAllText(config, $"app = {Inspect}\nmax-request-body = 1000\nidle-timeout-secs = 9\n");
        edge.Signal(SIGHUP);
        var reloaded = edge.WaitForLog(l => l.GetProperty("msg").GetString() == "reloaded");
        Assert.Equal("max-request-body", reloaded.GetProperty("applied").GetString());
        var restart = edge.WaitForLog(l => l.GetProperty("msg").GetString()!.StartsWith("reload: these settings changed"));
        Assert.Equal("idle-timeout-secs", restart.GetProperty("settings").GetString());
        using (var r = await across) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await edge.Http.PostAsync("size", new StringContent(body)))
            Assert.Equal("50", await r.Content.ReadAsStringAsync());

        // A broken file changes nothing: logged, and the server keeps its settings.
        File.WriteAllText(config, $"app = {Inspect}\nmax-request-body = lots\n");
        edge.Signal(SIGHUP);
        var failed = edge.WaitForLog(l => l.GetProperty("msg").GetString()!.StartsWith("reload failed"));
        Assert.Contains($"{config}:2:", failed.GetProperty("error").GetString());
        using (var r = await edge.Http.PostAsync("size", new StringContent(body)))
            Assert.Equal("50", await r.Content.ReadAsStringAsync());
        Assert.False(edge.HasExited);
    }

    [Fact]
    public async Task SystemdHearsReadyAndWatchdogPings()
    {
        using var dir = new TempDir();
        var path = dir.Combine("notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(path));
        notify.ReceiveTimeout = 15000;
        using var edge = EdgeProcess.StartWith(psi =>
        {
            psi.Environment["NOTIFY_SOCKET"] = path;
            psi.Environment["WATCHDOG_USEC"] = "400000";
        }, "--app", Inspect);
        var buffer = new byte[4096];
        var messages = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (messages.Count(m => m == "WATCHDOG=1") < 3 && DateTime.UtcNow < deadline)
            messages.Add(Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer)));
        var ready = messages.First();
        Assert.Contains("READY=1", ready.Split('\n'));
        Assert.Contains($"MAINPID={edge.Pid}", ready.Split('\n'));
        Assert.True(messages.Count(m => m == "WATCHDOG=1") >= 3, string.Join(" | ", messages));

        edge.Signal(SIGTERM);
        while (true)
        {
            var m = Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer));
            if (m.StartsWith("STOPPING=1")) break;
        }
        Assert.Equal(0, edge.WaitForExit(TimeSpan.FromSeconds(15)));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task ServesOnASocketFromSocketActivation()
    {
        var port = Ports.Free();
        var psi = new ProcessStartInfo("systemd-socket-activate")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-l", $"127.0.0.1:{port}", "--fdname=http", TestPaths.Binary, "serve", "--app", TestPaths.Example("hello-world") })
            psi.ArgumentList.Add(a);
        // systemd-socket-activate binds the socket, then runs the server with it as descriptor 3 and
        // LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES set, as systemd does for blueboat-edge.socket.
        using var edge = EdgeProcess.Attach(Process.Start(psi)!, port);
        using var r = await edge.Http.GetAsync("/");
        Assert.Equal("hello world", await r.Content.ReadAsStringAsync());
        var listening = edge.WaitForLog(l => l.GetProperty("msg").GetString() == "listening");
        Assert.Equal("http:3", listening.GetProperty("systemd_sockets").GetString());
    }

    [Fact]
    public async Task MetricsCountTraffic()
    {
        var adminPort = Ports.Free();
        using var edge = EdgeProcess.Start("--app", Inspect, "--admin-listen", $"127.0.0.1:{adminPort}");
        var before = await ScrapeAsync(adminPort);
        Assert.Equal(0, before.Sum("blueboat_requests_total"));
        for (var i = 0; i < 5; i++) (await edge.Http.GetAsync("sleep?ms=1")).Dispose();
        (await edge.Http.PostAsync("size", new StringContent(new string('x', 1000)))).Dispose();
        (await edge.Http.GetAsync("_blueboat/health")).Dispose(); // the platform's own check is not app traffic

        var after = await ScrapeAsync(adminPort);
        Assert.Equal(6, after.Value("blueboat_requests_total", ("app", "inspect"), ("status", "200")));
        Assert.Equal(6, after.Value("blueboat_request_duration_seconds_count", ("app", "inspect")));
        Assert.Equal(1, after.Value("blueboat_cold_starts_total", ("app", "inspect")));
        Assert.Equal(1, after.Value("blueboat_workers_alive"));
        Assert.Equal(1000, after.Value("blueboat_request_body_bytes_total"));
        Assert.True(after.Value("blueboat_response_body_bytes_total") > before.Value("blueboat_response_body_bytes_total"));

        // A worker killed under it is a restart by how it ended.
        Process.GetProcessById(edge.SingleWorkerPid()).Kill(); // SIGKILL
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        PrometheusScrape latest;
        while ((latest = await ScrapeAsync(adminPort)).Value("blueboat_worker_restarts_total", ("reason", "killed by signal 9 (SIGKILL)")) < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the killed worker was not counted");
            await Task.Delay(50);
        }
        Assert.Equal(0, latest.Value("blueboat_workers_alive"));

        // Without a token file the admin listener serves /metrics only.
        using var http = new HttpClient();
        using var apps = await http.GetAsync($"http://127.0.0.1:{adminPort}/apps");
        Assert.Equal(HttpStatusCode.NotFound, apps.StatusCode);
    }
}
