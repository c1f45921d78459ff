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
        Assert.StartsWith("socket:", new FileInfo($"/proc/{worker}/fd/3").LinkTarget);
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

    private static string Limit(int pid, string name) =>
        File.ReadAllLines($"/proc/{pid}/limits").First(l => l.StartsWith(name)).Substring(26).Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];

    [Fact]
    public async Task AsRootWorkersAreProcessOneOfTheirOwnPidNamespaceWithTheirOwnMountsAndProc()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        await edge.Http.GetStringAsync("");
        var worker = edge.SingleWorkerPid();
        if (Status(edge.Pid)["Uid"].Split('\t')[0] != "0") return; // namespaces need root; CI runs as root
        Assert.Equal([worker.ToString(), "1"], Status(worker)["NSpid"].Split('\t'));
        Assert.NotEqual(Link($"/proc/{edge.Pid}/ns/pid"), Link($"/proc/{worker}/ns/pid"));
        Assert.NotEqual(Link($"/proc/{edge.Pid}/ns/mnt"), Link($"/proc/{worker}/ns/mnt"));
        // Its /proc lists itself alone: no other tenant's worker, not the supervisor.
        var pids = Directory.EnumerateDirectories($"/proc/{worker}/root/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).ToList();
        Assert.Equal(["1"], pids);
        Assert.Equal("32768", Limit(worker, "Max processes"));
    }

    [Fact]
    public async Task AWorkerIsNotDumpableSoNoOtherProcessOfItsUserReadsItsMemory()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        await edge.Http.GetStringAsync("");
        var worker = edge.SingleWorkerPid();
        // A dumpable process's /proc files belong to its own user; these belong to root.
        foreach (var file in new[] { "mem", "environ", "maps", "status" })
            Assert.Equal(0, Posix.OwnerUid($"/proc/{worker}/{file}"));
    }

    [Fact]
    public async Task WithoutAMemoryCgroupEachWorkerCapsItsOwnAddressSpace()
    {
        using var edge = EdgeProcess.Start(new Dictionary<string, string> { ["BLUEBOAT_EDGE_NO_MEMORY_CGROUP"] = "1" },
            "--app", TestPaths.App("inspect"), "--worker-memory-mb", "300");
        for (var i = 0; i < 20; i++) Assert.Equal("inspect app", await edge.Http.GetStringAsync(""));
        edge.WaitForLog(l => l.GetProperty("msg").GetString()!.StartsWith("no writable memory cgroup"));
        var worker = edge.SingleWorkerPid();
        var cap = long.Parse(Limit(worker, "Max address space"));
        var mapped = long.Parse(Status(worker)["VmSize"].Split(' ')[0]) * 1024;
        // The cap is what the worker had mapped once loaded plus its 300 MB budget.
        Assert.InRange(cap - mapped, 200L * 1024 * 1024, 300L * 1024 * 1024);
    }

    [Fact]
    public async Task WithAMemoryCgroupTheAddressSpaceIsLeftAlone()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("inspect"));
        await edge.Http.GetStringAsync("");
        if (edge.Logs().Any(l => l.GetProperty("msg").GetString()!.StartsWith("no writable memory cgroup"))) return;
        Assert.Equal("unlimited", Limit(edge.SingleWorkerPid(), "Max address space"));
    }

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
