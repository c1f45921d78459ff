using System.Runtime.InteropServices;

namespace Blueboat.Supervisor.Transport.IoUring;

/// <summary>Whether this process may use the io_uring transport, and if not, why (in words for the log).</summary>
public static class UringSupport
{
    /// <summary>Set to 1 to force the socket transport (tests, or a kernel that misbehaves).</summary>
    public const string DisableVariable = "BLUEBOAT_EDGE_DISABLE_IO_URING";

    /// <summary>Multishot recv, the newest feature we rely on, arrived in Linux 6.0.</summary>
    private static readonly Version MinimumKernel = new(6, 0);

    /// <summary>Null when io_uring works here, else the reason it cannot be used.</summary>
    public static string? WhyUnavailable()
    {
        if (Environment.GetEnvironmentVariable(DisableVariable) is { Length: > 0 } v && v != "0")
            return $"{DisableVariable}={v} is set";
        if (!OperatingSystem.IsLinux()) return "io_uring exists only on Linux";
        var kernel = Environment.OSVersion.Version;
        if (kernel < MinimumKernel)
            return $"kernel {kernel} lacks multishot receive and provided-buffer rings (needs {MinimumKernel} or newer)";
        try
        {
            var rc = UringNative.Open(8, 8, 4096, RingThread.BufferGroup, out var ring, out var stage);
            if (rc < 0) return Describe(-rc, stage);
            UringNative.Close(ring);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return "the native io_uring shim is not linked into this build";
        }
        return null;
    }

    internal static string Describe(int errno, int stage)
    {
        var error = Marshal.GetPInvokeErrorMessage(errno);
        return stage switch
        {
            1 when errno == Errno.ENOSYS => "io_uring_setup is not implemented by this kernel (ENOSYS)",
            1 when errno == Errno.EPERM => DisabledReason(),
            1 => $"io_uring_setup failed: {error}",
            2 => $"mapping the io_uring queues failed: {error}",
            3 => $"allocating receive buffers failed: {error}",
            4 => $"registering a provided-buffer ring failed (needs Linux 5.19): {error}",
            _ => error,
        };
    }

    private static string DisabledReason()
    {
        try
        {
            var sysctl = File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim();
            if (sysctl != "0") return $"io_uring is disabled by the kernel.io_uring_disabled sysctl (= {sysctl})";
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "io_uring_setup is refused (EPERM): blocked by a seccomp filter or container policy";
    }
}
