using System.Runtime.InteropServices;

namespace Blueboat.Supervisor.Workers;

/// <summary>The libc calls and the native spawn shim (native/spawn.c) the supervisor uses to start and reap workers.</summary>
internal static partial class NativeProcess
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SIGKILL = 9;
    public const int EINTR = 4;

    [LibraryImport("blueboat_native", EntryPoint = "blueboat_spawn_worker", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int SpawnWorker(string exe, byte** argv, byte** envp, int channelFd, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    public static unsafe partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, out int status, int options);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    /// <summary>Describes a waitpid status the way an operator reads it.</summary>
    public static string DescribeExit(int status)
    {
        var signal = status & 0x7f;
        if (signal == 0) return $"exited with code {(status >> 8) & 0xff}";
        return $"killed by signal {signal} ({SignalName(signal)})";
    }

    public static int TermSignal(int status) => (status & 0x7f) is var s && s != 0 && s != 0x7f ? s : 0;

    private static string SignalName(int signal) => signal switch
    {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => "signal " + signal,
    };
}
