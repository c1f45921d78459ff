using System.Net;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>The worker's lock-down, checked on the running AOT binary.</summary>
public class SandboxTests
{
    private static Dictionary<string, string> Status(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].Trim());

    [Fact]
    public async Task WorkersRunUnderTheFilterWithNoNewPrivileges()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        await edge.Http.GetStringAsync("");
        var status = Status(edge.SingleWorkerPid());
        Assert.Equal("2", status["Seccomp"]);
        Assert.Equal("1", status["NoNewPrivs"]);
        Assert.Equal("0", Status(edge.Pid)["Seccomp"]); // the supervisor itself is not filtered
    }

    [Fact]
    public async Task AsRootWorkersDropToAnotherUserInTheirOwnNetworkNamespace()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        await edge.Http.GetStringAsync("");
        var worker = edge.SingleWorkerPid();
        var supervisorUid = Status(edge.Pid)["Uid"].Split('\t')[0];
        var workerUid = Status(worker)["Uid"].Split('\t')[0];
        if (supervisorUid != "0") return; // only root can change user; CI runs as root
        Assert.NotEqual("0", workerUid);
        Assert.Equal("65534", workerUid);
        Assert.NotEqual(Link($"/proc/{edge.Pid}/ns/net"), Link($"/proc/{worker}/ns/net"));
        Assert.NotEqual(Link($"/proc/{edge.Pid}/ns/ipc"), Link($"/proc/{worker}/ns/ipc"));
        Assert.Equal("0", File.ReadAllLines($"/proc/{worker}/limits").First(l => l.StartsWith("Max core file size")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[4]);
        Assert.Equal("/dev/null", Link($"/proc/{worker}/fd/0"));
        // Only stdout, stderr and the channel are inherited; the rest are the worker's own.
        Assert.True(new FileInfo($"/proc/{worker}/fd/3").LinkTarget!.StartsWith("socket:"));
    }

    [Fact]
    public async Task EachWorkerHasAMemoryCgroupWithTheLimit()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--worker-memory-mb", "300");
        await edge.Http.GetStringAsync("");
        var worker = edge.SingleWorkerPid();
        var line = File.ReadAllLines($"/proc/{worker}/cgroup").FirstOrDefault(l => l.Contains(":memory:") || l.StartsWith("0::"));
        if (line is null || !line.Contains("blueboat-edge-"))
        {
            // No writable memory cgroup here: the server must have said so.
            edge.WaitForLog(l => l.GetProperty("msg").GetString()!.StartsWith("no writable memory cgroup"));
            return;
        }
        var path = line[(line.LastIndexOf(':') + 1)..];
        var dir = line.Contains(":memory:") ? "/sys/fs/cgroup/memory" + path : "/sys/fs/cgroup" + path;
        var limitFile = File.Exists(Path.Combine(dir, "memory.max")) ? "memory.max" : "memory.limit_in_bytes";
        Assert.Equal((300L * 1024 * 1024).ToString(), File.ReadAllText(Path.Combine(dir, limitFile)).Trim());
        Assert.Equal(0, Posix.Kill(edge.Pid, 15)); // a clean stop removes what the server made
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!edge.HasExited && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(edge.HasExited);
        Assert.False(Directory.Exists(dir)); // removed with its worker
        Assert.False(Directory.Exists(Path.GetDirectoryName(dir)));
    }

    private static string Link(string path) => new FileInfo(path).LinkTarget ?? "";

    [Theory]
    [InlineData("socket")]
    [InlineData("open-write")]
    [InlineData("execve")]
    public async Task ForbiddenCallsAreKilledBySigsysAndTheKillIsLoggedWithTheApp(string probe)
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--sandbox-probe", probe);
        using var r = await edge.Http.GetAsync("");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var log = edge.WaitForLog(l => l.GetProperty("msg").GetString() == "app failed to start");
        Assert.Equal("inspect", log.GetProperty("app").GetString());
        Assert.Contains("SIGSYS", log.GetProperty("error").GetString());
        Assert.False(File.Exists("/tmp/blueboat-edge-probe"));
        using var health = await edge.Http.GetAsync("_blueboat/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task TheDebugSwitchTurnsTheFilterOffWithAWarning()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"), "--dangerously-disable-seccomp");
        await edge.Http.GetStringAsync("");
        Assert.Equal("0", Status(edge.SingleWorkerPid())["Seccomp"]);
        var warn = edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("seccomp is disabled"));
        Assert.Equal("warn", warn.GetProperty("level").GetString());
    }
}
