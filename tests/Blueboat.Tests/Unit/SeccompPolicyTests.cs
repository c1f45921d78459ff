using Blueboat.Worker.Sandbox;

namespace Blueboat.Tests.Unit;

public class SeccompPolicyTests
{
    private static readonly SyscallPolicy Policy = SyscallPolicy.Parse(
        File.ReadAllText(Path.Combine(Support.TestPaths.RepoRoot, "seccomp", "worker.policy")), "seccomp/worker.policy", selfPid: 4242);

    [Fact]
    public void ThePolicyStaysSmallAndLeavesOutWhatAWorkerMustNeverDo()
    {
        Assert.True(Policy.Rules.Count < 50, $"{Policy.Rules.Count} syscalls");
        var names = Policy.Rules.Select(r => r.Name).ToHashSet();
        foreach (var forbidden in new[] { "socket", "connect", "bind", "listen", "accept", "accept4", "execve", "execveat", "ptrace", "mount", "unshare", "setns", "fork", "vfork", "kill", "open" })
            Assert.DoesNotContain(forbidden, names);
        var openat = Policy.Rules.Single(r => r.Name == "openat");
        Assert.Contains(openat.Checks, c => c.Arg == 2 && (c.Mask & 0x3) == 0x3 && (c.Mask & 0x40) == 0x40 && c.Value == 0);
        Assert.Equal(38, Policy.Rules.Single(r => r.Name == "clone3").Errno);
        // signals reach the worker's own threads only, never another tenant's worker
        Assert.Contains(Policy.Rules.Single(r => r.Name == "tgkill").Checks, c => c.Arg == 0 && c.Mask == 0xffffffff && c.Value == 4242);
    }

    [Fact]
    public void TheProgramChecksTheArchitectureFirstAndKillsByDefault()
    {
        var program = BpfCompiler.Compile(Policy);
        Assert.Equal(4u, program[0].K);                          // load seccomp_data.arch
        Assert.Equal(SyscallTable.AuditArchX64, program[1].K);
        Assert.Equal(BpfCompiler.RetKillProcess, program[2].K);
        Assert.Equal(BpfCompiler.RetKillProcess, program[^1].K);
        Assert.True(program.Length < 200);
    }

    [Theory]
    [InlineData("socket\nsocket", "listed twice")]
    [InlineData("frobnicate", "unknown syscall")]
    [InlineData("openat arg9 & 1 == 0", "argument index")]
    [InlineData("clone3 errno EWHAT", "errno NAME")]
    [InlineData("openat arg2 | 1 == 0", "argN & MASK == VALUE")]
    public void MistakesInThePolicyAreReportedWithTheLine(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => SyscallPolicy.Parse(text, "p", 1));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("p:", e.Message);
    }
}
