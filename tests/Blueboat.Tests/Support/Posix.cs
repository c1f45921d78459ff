using System.Diagnostics;

namespace Blueboat.Tests.Support;

/// <summary>The few process and file facts the tests read that .NET does not expose.</summary>
internal static partial class Posix
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    public static partial int Kill(int pid, int signal);

    /// <summary>A connected pair of Unix stream sockets, as the supervisor makes for a worker's channel.</summary>
    public static unsafe (int, int) SocketPair()
    {
        var fds = stackalloc int[2];
        if (SocketPair(1 /* AF_UNIX */, 1 | 0x80000 /* SOCK_STREAM | SOCK_CLOEXEC */, 0, fds) != 0)
            throw new IOException($"socketpair failed (errno {System.Runtime.InteropServices.Marshal.GetLastSystemError()})");
        return (fds[0], fds[1]);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static unsafe partial int SocketPair(int domain, int type, int protocol, int* fds);

    /// <summary>The numeric owner of a file, as stat(1) reports it.</summary>
    public static int OwnerUid(string path)
    {
        var psi = new ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new IOException($"stat {path}: {p.StandardError.ReadToEnd().Trim()}");
        return int.Parse(output);
    }
}
