using System.Net.Sockets;
using System.Text;
using Blueboat.Supervisor.Hosting.Systemd;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Metrics;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.Unit;

public class ServiceSupportTests
{
    [Fact]
    public void MetricsAreValidPrometheusTextAndCountWhatHappened()
    {
        var m = new EdgeMetrics();
        var a = m.RequestStarted();
        a.App = "shop";
        a.BytesIn = 10;
        var inFlight = PrometheusScrape.Parse(PrometheusText.Write(m));
        Assert.Equal(1, inFlight.Value("blueboat_requests_in_flight"));
        m.RequestFinished(a, 200, 123);
        var b = m.RequestStarted();
        b.App = "we\"ird\\app\n";
        m.RequestFinished(b, 503, 7);
        m.RequestFinished(m.RequestStarted(), 404, 0);
        m.WorkerStarted("shop");
        m.WorkerStarted("shop");
        m.WorkerEnded(unexpected: true, "killed by signal 31 (SIGSYS)");
        m.WorkerKilled("idle");

        var scrape = PrometheusScrape.Parse(PrometheusText.Write(m));
        Assert.Equal("counter", scrape.Types["blueboat_requests_total"]);
        Assert.Equal("histogram", scrape.Types["blueboat_request_duration_seconds"]);
        Assert.Equal(1, scrape.Value("blueboat_requests_total", ("app", "shop"), ("status", "200")));
        Assert.Equal(1, scrape.Value("blueboat_requests_total", ("app", "we\"ird\\app\n"), ("status", "503")));
        Assert.Equal(1, scrape.Value("blueboat_requests_total", ("app", ""), ("status", "404")));
        Assert.Equal(0, scrape.Value("blueboat_requests_in_flight"));
        Assert.Equal(1, scrape.Value("blueboat_request_duration_seconds_count", ("app", "shop")));
        Assert.Equal(1, scrape.Value("blueboat_workers_alive"));
        Assert.Equal(2, scrape.Value("blueboat_cold_starts_total", ("app", "shop")));
        Assert.Equal(1, scrape.Value("blueboat_worker_restarts_total", ("reason", "killed by signal 31 (SIGSYS)")));
        Assert.Equal(1, scrape.Value("blueboat_worker_kills_total", ("reason", "idle")));
        Assert.Equal(10, scrape.Value("blueboat_request_body_bytes_total"));
        Assert.Equal(130, scrape.Value("blueboat_response_body_bytes_total"));
    }

    [Fact]
    public void LatencyLandsInItsBucket()
    {
        var m = new EdgeMetrics();
        var t = m.RequestStarted();
        t.App = "a";
        Thread.Sleep(30);
        m.RequestFinished(t, 200, 0);
        var scrape = PrometheusScrape.Parse(PrometheusText.Write(m));
        Assert.Equal(0, scrape.Value("blueboat_request_duration_seconds_bucket", ("app", "a"), ("le", "0.025")));
        Assert.Equal(1, scrape.Value("blueboat_request_duration_seconds_bucket", ("app", "a"), ("le", "+Inf")));
        Assert.True(scrape.Value("blueboat_request_duration_seconds_sum", ("app", "a")) >= 0.03);
    }

    [Theory]
    [InlineData("100", "2", "http:admin", 100, 2)]
    [InlineData("100", "1", null, 100, 1)]
    [InlineData("99", "2", "http:admin", 100, 0)]   // meant for another process
    [InlineData(null, "2", null, 100, 0)]
    [InlineData("100", "0", null, 100, 0)]
    public void ListenFdsBelongToTheirProcess(string? pid, string? fds, string? names, int own, int expected)
    {
        var parsed = ListenFds.Parse(pid, fds, names, own);
        Assert.Equal(expected, parsed.Sockets.Count);
        for (var i = 0; i < parsed.Sockets.Count; i++) Assert.Equal(3 + i, parsed.Sockets[i].Descriptor);
        if (names is not null && expected == 2) Assert.Equal(["http", "admin"], parsed.Sockets.Select(s => s.Name));
    }

    [Fact]
    public void NotifierSendsReadyAndWatchdogPingsToTheNotifySocket()
    {
        using var dir = new TempDir();
        var path = dir.Combine("notify");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.ReceiveTimeout = 5000;
        var log = new EdgeLog(TextWriter.Null);
        using var notifier = new ServiceNotifier(log, path);
        Assert.True(notifier.Enabled);
        notifier.Ready("serving");
        var buffer = new byte[4096];
        var first = Encoding.UTF8.GetString(buffer, 0, listener.Receive(buffer));
        Assert.Contains("READY=1", first.Split('\n'));
        Assert.Contains($"MAINPID={Environment.ProcessId}", first.Split('\n'));

        notifier.StartWatchdog(usec: "100000", pid: Environment.ProcessId.ToString()); // 100 ms: a ping every 50 ms
        var pings = 0;
        var started = DateTime.UtcNow;
        while (pings < 3) if (Encoding.UTF8.GetString(buffer, 0, listener.Receive(buffer)) == "WATCHDOG=1") pings++;
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void WithoutNotifySocketTheNotifierIsSilent()
    {
        using var notifier = new ServiceNotifier(new EdgeLog(TextWriter.Null), "");
        Assert.False(notifier.Enabled);
        notifier.Ready("x"); // no socket: nothing to send, no error
    }

    [Fact]
    public void JournalPriorityPrefixOnlyWhenAsked()
    {
        var plain = new StringWriter();
        new EdgeLog(plain).Warn("careful");
        Assert.StartsWith("{", plain.ToString());
        var journal = new StringWriter();
        new EdgeLog(journal, syslogPriorityPrefix: true).Error("bad");
        new EdgeLog(journal, syslogPriorityPrefix: true).Info("fine");
        var lines = journal.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("<3>{", lines[0]);
        Assert.StartsWith("<6>{", lines[1]);
        System.Text.Json.JsonDocument.Parse(lines[0][3..]); // what journald stores is the JSON object
        Assert.False(EdgeLog.StdoutIsJournal(null));
        Assert.False(EdgeLog.StdoutIsJournal("8:12345")); // a test's stdout is not that socket
    }
}
