using System.Runtime.InteropServices;

namespace Blueboat.Worker.Sandbox;

/// <summary>Locks the worker down: no new privileges, then the compiled policy on every thread.</summary>
public static unsafe partial class Seccomp
{
    private const int PrSetNoNewPrivs = 38;
    private const long SysSeccomp = 317;
    private const uint SeccompSetModeFilter = 1;
    private const uint SeccompFilterFlagTsync = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Length;
        public BpfInstruction* Filter;
    }

    public static void Install(SyscallPolicy policy)
    {
        var program = BpfCompiler.Compile(policy);
        if (Prctl(PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
            throw new InvalidOperationException($"prctl(PR_SET_NO_NEW_PRIVS) failed: errno {Marshal.GetLastSystemError()}");
        fixed (BpfInstruction* filter = program)
        {
            var prog = new SockFprog { Length = (ushort)program.Length, Filter = filter };
            // TSYNC: the filter covers every thread the runtime already started, not only this one.
            // A thread caught mid-creation can refuse the synchronisation; it settles within moments.
            long r = 0;
            for (var attempt = 0; attempt < 20; attempt++)
            {
                r = Syscall(SysSeccomp, SeccompSetModeFilter, SeccompFilterFlagTsync, (nint)(&prog));
                if (r <= 0) break;
                Thread.Sleep(5);
            }
            if (r != 0)
                throw new InvalidOperationException($"seccomp(SECCOMP_SET_MODE_FILTER) failed: {(r > 0 ? $"thread {r} could not be synchronised" : $"errno {Marshal.GetLastSystemError()}")}");
        }
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, ulong a2, ulong a3, ulong a4, ulong a5);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, ulong a1, ulong a2, nint a3);
}
