using System.Net.Sockets;
using System.Text;
using Blueboat.Supervisor.Logging;

namespace Blueboat.Supervisor.Hosting.Systemd;

/// <summary>
/// sd_notify for Type=notify services: READY=1, STOPPING=1, RELOADING=1 and the watchdog's
/// WATCHDOG=1 as datagrams to $NOTIFY_SOCKET. The protocol is one sendto() of text to a Unix
/// socket, so it is written here rather than pulling libsystemd into a self-contained binary.
/// Without $NOTIFY_SOCKET (not under systemd) every call does nothing.
/// </summary>
public sealed class ServiceNotifier : IDisposable
{
    private readonly Socket? socket;
    private readonly UnixDomainSocketEndPoint? target;
    private readonly EdgeLog log;
    private Timer? watchdog;

    public ServiceNotifier(EdgeLog log, string? notifySocket = null)
    {
        this.log = log;
        notifySocket ??= Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(notifySocket)) return;
        // "@name" is a socket in the abstract namespace: its address starts with a NUL byte.
        target = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public bool Enabled => socket is not null;

    public void Ready(string status) => Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}");

    public void Stopping() => Send("STOPPING=1\nSTATUS=stopping: finishing requests in flight");

    public void Reloading() => Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds()}");

    /// <summary>Ends a reload started with <see cref="Reloading"/>.</summary>
    public void Reloaded(string status) => Send($"READY=1\nSTATUS={status}");

    /// <summary>
    /// Pings WATCHDOG=1 at half the interval systemd asked for ($WATCHDOG_USEC, for this process per
    /// $WATCHDOG_PID), from a timer: it stops when the process hangs badly enough that timers do not run.
    /// </summary>
    public void StartWatchdog(string? usec = null, string? pid = null)
    {
        usec ??= Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        pid ??= Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!Enabled || !long.TryParse(usec, out var interval) || interval <= 0) return;
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString()) return;
        var period = TimeSpan.FromMicroseconds(interval / 2.0);
        watchdog = new Timer(_ => Send("WATCHDOG=1"), null, TimeSpan.Zero, period);
        log.Info("systemd watchdog armed", ("interval_ms", interval / 1000), ("ping_ms", (long)period.TotalMilliseconds));
    }

    private void Send(string message)
    {
        if (socket is null) return;
        try
        {
            socket.SendTo(Encoding.UTF8.GetBytes(message), target!);
        }
        catch (SocketException e)
        {
            log.Warn("cannot notify systemd", ("socket", Environment.GetEnvironmentVariable("NOTIFY_SOCKET")), ("error", e.Message));
        }
    }

    private static long MonotonicMicroseconds() => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    public void Dispose()
    {
        watchdog?.Dispose();
        socket?.Dispose();
    }
}
