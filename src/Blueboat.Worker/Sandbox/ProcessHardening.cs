using System.Runtime.InteropServices;

namespace Blueboat.Worker.Sandbox;

/// <summary>What a worker does to itself beyond the syscall filter.</summary>
public static partial class ProcessHardening
{
    private const int PrSetDumpable = 4;
    private const int RlimitAs = 9;

    /// <summary>
    /// Not dumpable: /proc/PID of this worker belongs to root, so no other process of the same
    /// user (another tenant's worker) can read its memory, environment or descriptors, and it
    /// leaves no core dump. Done first, before any tenant data arrives.
    /// </summary>
    public static void MakeNotDumpable()
    {
        if (Prctl(PrSetDumpable, 0, 0, 0, 0) != 0)
            throw new InvalidOperationException($"prctl(PR_SET_DUMPABLE, 0) failed: errno {Marshal.GetLastSystemError()}");
    }

    /// <summary>
    /// The fallback when no memory cgroup caps the worker: an address-space limit of what is
    /// mapped now plus <paramref name="budgetMb"/>. V8 and the GC reserve their ranges while
    /// starting, so the limit is set from the size reached after loading rather than a fixed
    /// number; what it bounds is every mapping made after that (native and ArrayBuffer memory).
    /// Returns the limit set, in bytes.
    /// </summary>
    public static long LimitAddressSpace(long budgetMb)
    {
        var mapped = MappedBytes();
        var limit = mapped + budgetMb * 1024 * 1024;
        var rl = new RLimit { Current = (ulong)limit, Max = (ulong)limit };
        if (SetRLimit(RlimitAs, ref rl) != 0)
            throw new InvalidOperationException($"setrlimit(RLIMIT_AS, {limit}) failed: errno {Marshal.GetLastSystemError()}");
        return limit;
    }

    /// <summary>The budget the supervisor passed, if any.</summary>
    public static long? AddressSpaceBudgetMb() =>
        long.TryParse(Environment.GetEnvironmentVariable(Blueboat.Channel.WorkerEnvironment.AddressSpaceBudgetMb), out var mb) && mb > 0 ? mb : null;

    private static long MappedBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("VmSize:", StringComparison.Ordinal)) continue;
            var kb = line["VmSize:".Length..].Trim().Split(' ')[0];
            return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException("/proc/self/status has no VmSize line");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, ref RLimit limit);
}
