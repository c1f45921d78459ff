using System.Runtime.InteropServices;

namespace Blueboat.Worker;

/// <summary>
/// The worker's process name (what ps and /proc/PID/comm show): an operator, and the tests, tell
/// an idle pre-started worker from one bound to an app without asking the supervisor.
/// </summary>
internal static partial class ProcessName
{
    public const string Idle = "blueboat-idle";
    public const string App = "blueboat-app";

    private const int PrSetName = 15;

    /// <summary>Names the calling thread, which is the process's own name when called on the main thread (the event loop's).</summary>
    public static unsafe void Set(string name)
    {
        Span<byte> buffer = stackalloc byte[16]; // the kernel keeps 15 bytes and a terminating zero
        var n = System.Text.Encoding.ASCII.GetBytes(name.AsSpan(0, Math.Min(name.Length, 15)), buffer);
        buffer[n] = 0;
        fixed (byte* p = buffer) Prctl(PrSetName, (nint)p, 0, 0, 0); // a failure only leaves the old name
    }

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nint arg2, nint arg3, nint arg4, nint arg5);
}
