namespace Blueboat.Supervisor.Workers;

/// <summary>
/// One periodic check of a worker's exchanges against their wall times, running only while the
/// worker has exchanges in flight. It replaces a timer per request (a timer-queue insertion and
/// removal, plus a linked cancellation source, on every request); a request may so overrun its
/// wall time by up to <see cref="Period"/>.
/// </summary>
public sealed class DeadlineSweep : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(20);

    private readonly Func<bool> expireOverdue; // fails what is overdue; true while anything is left to watch
    private readonly Timer timer;
    private readonly Lock gate = new();
    private int running; // 1 while the timer is ticking; changed under gate
    private bool disposed;

    public DeadlineSweep(Func<bool> expireOverdue)
    {
        this.expireOverdue = expireOverdue;
        timer = new Timer(static s => ((DeadlineSweep)s!).Tick(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Called after an exchange was added: makes sure the timer ticks.</summary>
    public void Watch()
    {
        if (Volatile.Read(ref running) == 1) return;
        lock (gate)
        {
            if (running == 1 || disposed) return;
            running = 1;
            timer.Change(Period, Period);
        }
    }

    private void Tick()
    {
        if (expireOverdue()) return;
        lock (gate)
        {
            // Cleared before looking again: an exchange added after this look sees 0 and restarts the timer.
            Interlocked.Exchange(ref running, 0);
            if (expireOverdue() && !disposed) running = 1;
            else timer.Change(Timeout.Infinite, Timeout.Infinite);
        }
    }

    public void Dispose()
    {
        lock (gate) disposed = true;
        timer.Dispose();
    }
}
