using System.Runtime.InteropServices;

namespace Blueboat.Worker;

/// <summary>
/// Stops JS that exceeds its CPU time: armed when the loop enters JS for a request, it reads the
/// JS thread's own CPU clock (not the wall clock, so waiting on timers costs nothing) every
/// millisecond and interrupts the engine once the request's budget is spent. While the loop keeps
/// entering JS it keeps polling, so arming under load costs no wake-up (a futex wake per request
/// was measured on the hot path); after <see cref="QuietPollsBeforeSleep"/> polls without an armed
/// period it sleeps until the next Arm wakes it, so an idle worker costs nothing. (Polling longer
/// would cost more than the wake-ups it saves for apps with a request every few milliseconds.)
/// </summary>
internal sealed partial class CpuWatchdog : IDisposable
{
    private const int ClockThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID, for the creating thread's clock id

    /// <summary>Polls (about a millisecond apart) without an armed period before the watchdog sleeps.</summary>
    private const int QuietPollsBeforeSleep = 3;

    private readonly int jsThreadClock;
    private readonly Action interrupt;
    private readonly SemaphoreSlim wake = new(0);
    private readonly Thread thread;
    private long startNs; // the JS thread's only
    private long deadlineNs; // the JS thread's CPU clock reading at which the armed period's budget is spent
    private long arms; // Arm calls so far: the watchdog notices periods shorter than its poll through it
    private volatile bool armed;
    private volatile bool disposed;
    private volatile bool fired;
    private int asleep; // 1 while the watchdog waits on `wake` or is about to

    /// <summary>Create on the JS thread: the clock watched is the calling thread's.</summary>
    public CpuWatchdog(Action interrupt)
    {
        this.interrupt = interrupt;
        if (PthreadGetCpuClockId(PthreadSelf(), out jsThreadClock) != 0) jsThreadClock = ClockThreadCpuTimeId;
        thread = new Thread(Watch) { IsBackground = true, Name = "cpu-watchdog" };
        thread.Start();
    }

    /// <summary>True when the last armed period ended in an interrupt.</summary>
    public bool Fired => fired;

    public long NowNs()
    {
        ClockGetTime(jsThreadClock, out var ts);
        return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
    }

    public void Arm(long budget)
    {
        fired = false;
        startNs = NowNs();
        Volatile.Write(ref deadlineNs, startNs + budget);
        Volatile.Write(ref arms, arms + 1);
        armed = true;
        // Pairs with the watchdog's going to sleep (Watch): it announces `asleep`, then looks at
        // `armed`; this sets `armed`, then looks at `asleep`. With a full fence on both sides, at
        // least one of them sees the other's write, so an armed period is never left unwatched.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref asleep) == 1 && Interlocked.Exchange(ref asleep, 0) == 1) wake.Release();
    }

    /// <summary>Disarms and returns the CPU time spent since Arm.</summary>
    public long Disarm()
    {
        armed = false;
        return NowNs() - startNs;
    }

    private void Watch()
    {
        while (!disposed)
        {
            Poll();
            Interlocked.Exchange(ref asleep, 1); // a full fence before reading `armed` (see Arm)
            if (armed)
            {
                // An Arm came as we were about to sleep. If it took the wake-up (reset `asleep`),
                // take its Release too, so the semaphore does not wake us for nothing later.
                if (Interlocked.Exchange(ref asleep, 0) == 0) wake.Wait();
                continue;
            }
            wake.Wait();
        }
    }

    /// <summary>Watches armed periods until none has come for <see cref="QuietPollsBeforeSleep"/> polls.</summary>
    private void Poll()
    {
        var lastArms = -1L;
        var lastFired = -1L;
        var quietPolls = 0;
        while (!disposed)
        {
            var period = Volatile.Read(ref arms);
            if (armed && period != lastFired)
            {
                var deadline = Volatile.Read(ref deadlineNs);
                // Re-read after the clock: fire only if the deadline read belongs to the period still running.
                if (NowNs() > deadline && armed && Volatile.Read(ref arms) == period)
                {
                    lastFired = period;
                    fired = true;
                    interrupt();
                }
            }
            if (period != lastArms || armed)
            {
                lastArms = period;
                quietPolls = 0;
            }
            else if (++quietPolls >= QuietPollsBeforeSleep)
            {
                return;
            }
            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        disposed = true;
        wake.Release();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "pthread_self")]
    private static partial nint PthreadSelf();

    [LibraryImport("libc", EntryPoint = "pthread_getcpuclockid")]
    private static partial int PthreadGetCpuClockId(nint thread, out int clockId);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out Timespec ts);
}
