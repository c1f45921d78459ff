using System.Runtime.InteropServices;
using Blueboat.Channel;

namespace Blueboat.Worker.Sandbox;

/// <summary>
/// Test-only: after lock-down, attempts one thing the policy forbids, so a test can see the filter
/// kill the worker (SIGSYS). Reached only through the supervisor's hidden --sandbox-probe flag.
/// </summary>
internal static partial class ForbiddenProbe
{
    public static void Attempt(SandboxMode mode)
    {
        switch (mode)
        {
            case SandboxMode.ProbeSocket:
                Socket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
                break;
            case SandboxMode.ProbeOpenForWrite:
                Open("/tmp/blueboat-edge-probe", 0x41 /* O_WRONLY|O_CREAT */, 0x1a4);
                break;
            case SandboxMode.ProbeExecve:
                Execve("/bin/true", 0, 0);
                break;
        }
        Environment.FailFast($"sandbox probe {mode} was not stopped by the seccomp filter");
    }

    [LibraryImport("libc", EntryPoint = "socket")]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, nint argv, nint envp);
}
