using System.Diagnostics;
using System.Net;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>The process model: app code runs in a separate worker; one worker interleaves many requests; a dead worker is replaced.</summary>
[Collection(TimingSensitive.Name)]
public class WorkerProcessTests : IDisposable
{
    private readonly EdgeProcess edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));

    [Fact]
    public async Task AppCodeRunsInAWorkerProcessNotInTheSupervisor()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--cpu-limit-ms", "30000");
        Assert.Empty(edge.WorkerPids()); // lazily started
        await edge.Http.GetStringAsync("");
        var worker = edge.SingleWorkerPid();
        Assert.NotEqual(edge.Pid, worker);
        Assert.Contains("__worker", ProcFs.CommandLine(worker));

        // A busy loop in app code burns the worker's CPU, not the supervisor's.
        var workerBefore = ProcFs.UserTicks(worker);
        var supervisorBefore = ProcFs.UserTicks(edge.Pid);
        Assert.Equal("600000000", await edge.Http.GetStringAsync("spin?n=600000000"));
        var workerSpent = ProcFs.UserTicks(worker) - workerBefore;
        var supervisorSpent = ProcFs.UserTicks(edge.Pid) - supervisorBefore;
        Assert.True(workerSpent >= 10, $"worker used {workerSpent} ticks");            // at least 0.1 s of CPU at 100 Hz
        Assert.True(supervisorSpent < workerSpent / 3, $"supervisor used {supervisorSpent} ticks, worker {workerSpent}");
    }

    [Fact]
    public async Task OneWorkerInterleavesManyAsyncRequests()
    {
        await edge.Http.GetStringAsync("");
        var sw = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => edge.Http.GetStringAsync("sleep?ms=500")));
        sw.Stop();
        Assert.Single(answers.Distinct()); // all from the same worker (its boot id)
        Assert.Single(edge.WorkerPids());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"20 overlapping 500 ms sleeps took {sw.Elapsed}");
    }

    [Fact]
    public async Task KilledWorkerFailsItsInFlightRequestsWith502AndIsReplaced()
    {
        var firstBoot = await edge.Http.GetStringAsync("boot-id");
        var victim = edge.SingleWorkerPid();

        var inFlight = Enumerable.Range(0, 3).Select(_ => edge.Http.GetAsync("hang")).ToList();
        await Task.Delay(300);
        Process.GetProcessById(victim).Kill(); // SIGKILL
        foreach (var t in inFlight)
        {
            using var r = await t;
            Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode);
            Assert.Equal("text/plain", r.Content.Headers.ContentType!.MediaType);
            Assert.Contains("worker exited", await r.Content.ReadAsStringAsync());
        }

        // The supervisor carries on, and the next request starts a fresh worker.
        Assert.False(edge.HasExited);
        var secondBoot = await edge.Http.GetStringAsync("boot-id");
        Assert.NotEqual(firstBoot, secondBoot);
        var replacement = edge.SingleWorkerPid();
        Assert.NotEqual(victim, replacement);
        Assert.False(ProcFs.Exists(victim)); // reaped, no zombie left behind
        var log = edge.WaitForLog(l => l.GetProperty("msg").GetString() == "worker exited");
        Assert.Contains("SIGKILL", log.GetProperty("how").GetString());
    }

    [Fact]
    public async Task WorkerDiesWithTheSupervisor()
    {
        await edge.Http.GetStringAsync("");
        var worker = edge.SingleWorkerPid();
        Process.GetProcessById(edge.Pid).Kill();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (ProcFs.Exists(worker) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.False(ProcFs.Exists(worker), "worker outlived its supervisor");
    }

    [Fact]
    public async Task SigtermStopsTheServerAndItsWorkers()
    {
        await edge.Http.GetStringAsync("");
        var worker = edge.SingleWorkerPid();
        Assert.Equal(0, Posix.Kill(edge.Pid, 15));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!edge.HasExited && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(edge.HasExited);
        while (ProcFs.Exists(worker) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.False(ProcFs.Exists(worker));
    }

    public void Dispose() => edge.Dispose();
}
