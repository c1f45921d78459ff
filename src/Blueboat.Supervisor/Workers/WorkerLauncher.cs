using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// Starts a worker: a socketpair for the channel, then fork + execve of this same executable in
/// its hidden worker mode. The worker gets a clean environment and only the channel descriptor.
/// Every fork happens on one long-lived thread: a worker's parent-death signal fires when the
/// thread that forked it ends, and thread-pool threads do end when idle.
/// </summary>
public sealed unsafe class WorkerLauncher : IDisposable
{
    private readonly BlockingCollection<TaskCompletionSource<(int, Socket)>> requests = new();
    private readonly Thread thread;

    /// <summary>Where each worker's whole-process memory limit is set, when the system offers one.</summary>
    public MemoryCgroup? Memory { get; init; }

    /// <summary>The unprivileged user workers run as when the supervisor is root ("nobody" by default).</summary>
    public (int Uid, int Gid) WorkerUser { get; init; } = (65534, 65534);

    public WorkerLauncher(string executablePath)
    {
        ExecutablePath = executablePath;
        thread = new Thread(Serve) { IsBackground = true, Name = "worker-launcher" };
        thread.Start();
    }

    public const string WorkerModeArgument = "__worker";

    /// <summary>Environment names a worker keeps; nothing else of the supervisor's leaks into it.</summary>
    private static readonly string[] KeptEnvironment = ["TZ"];

    public string ExecutablePath { get; }

    public Task<(int Pid, Socket Channel)> LaunchAsync()
    {
        var request = new TaskCompletionSource<(int, Socket)>(TaskCreationOptions.RunContinuationsAsynchronously);
        requests.Add(request);
        return request.Task;
    }

    private void Serve()
    {
        foreach (var request in requests.GetConsumingEnumerable())
        {
            try
            {
                var launched = Launch();
                Memory?.Place(launched.Pid);
                request.SetResult(launched);
            }
            catch (Exception e) { request.SetException(e); }
        }
    }

    public void Dispose() => requests.CompleteAdding();

    private (int Pid, Socket Channel) Launch()
    {
        int* fds = stackalloc int[2];
        if (NativeProcess.SocketPair(NativeProcess.AF_UNIX, NativeProcess.SOCK_STREAM | NativeProcess.SOCK_CLOEXEC, 0, fds) != 0)
            throw new IOException($"socketpair failed: errno {Marshal.GetLastSystemError()}");

        var argv = new[] { ExecutablePath, WorkerModeArgument };
        var env = new List<string>();
        foreach (var name in KeptEnvironment)
            if (Environment.GetEnvironmentVariable(name) is { } value) env.Add($"{name}={value}");
        if (Memory?.AddressSpaceBudgetMb is { } budget) env.Add($"{Blueboat.Channel.WorkerEnvironment.AddressSpaceBudgetMb}={budget}");

        var argvBlock = NullTerminated(argv);
        var envBlock = NullTerminated(env);
        int pid;
        try
        {
            fixed (byte** a = argvBlock.Pointers, e = envBlock.Pointers)
                pid = NativeProcess.SpawnWorker(ExecutablePath, a, e, fds[1], WorkerUser.Uid, WorkerUser.Gid);
        }
        finally
        {
            argvBlock.Free();
            envBlock.Free();
            NativeProcess.Close(fds[1]);
        }
        if (pid < 0)
        {
            NativeProcess.Close(fds[0]);
            throw new IOException($"fork failed: errno {-pid}");
        }
        var socket = new Socket(new SafeSocketHandle(fds[0], ownsHandle: true));
        return (pid, socket);
    }

    private sealed class NativeStrings(byte*[] pointers)
    {
        public byte*[] Pointers { get; } = pointers;

        public void Free()
        {
            foreach (var p in Pointers) if (p != null) NativeMemory.Free(p);
        }
    }

    private static NativeStrings NullTerminated(IReadOnlyList<string> strings)
    {
        var pointers = new byte*[strings.Count + 1];
        for (var i = 0; i < strings.Count; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(strings[i]);
            var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
            bytes.CopyTo(new Span<byte>(p, bytes.Length));
            p[bytes.Length] = 0;
            pointers[i] = p;
        }
        return new NativeStrings(pointers);
    }
}
