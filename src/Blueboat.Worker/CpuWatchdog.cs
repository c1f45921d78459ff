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
/// Once an entry has used <see cref="MemoryWatchAfterNs"/> of CPU, each poll also asks whether it
/// has outgrown its memory (see <see cref="HeapGuard"/>); shorter entries cannot allocate enough to matter.
/// An entry that lasts longer than its wall budget is interrupted too, whatever CPU it used: JS
/// can block without using any (Atomics.wait), and a loop blocked in JS never reads another
/// event. An entry still running <see cref="StuckAfterInterrupt"/> after its interrupt is beyond
/// V8's reach: the watchdog ends the process, and the supervisor starts a fresh worker.
/// </summary>
internal sealed partial class CpuWatchdog : IDisposable
{
    private const int ClockThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID, for the creating thread's clock id

    /// <summary>Polls (about a millisecond apart) without an armed period before the watchdog sleeps.</summary>
    private const int QuietPollsBeforeSleep = 3;

    private readonly int jsThreadClock;
    private readonly Action interrupt;
    private readonly Func<long, bool>? memoryExceeded; // given the period, so a new entry starts a new baseline
    private readonly Action stuck;

    /// <summary>CPU an entry uses before its memory is watched too (a few MB of allocation at most by then).</summary>
    public const long MemoryWatchAfterNs = 5_000_000;
    private readonly SemaphoreSlim wake = new(0);
    private readonly Thread thread;
    private long armedAt; // Stopwatch timestamp of the last Arm (the JS thread's only)
    private long budgetNs; // CPU the armed period may use
    private long wallDeadline; // Stopwatch timestamp past which the armed period is stopped whatever its CPU
    private long arms; // Arm calls so far: the watchdog notices periods shorter than its poll through it
    // The JS thread's CPU clock as the watchdog first read it in a period, and when (wall) it did.
    // Written (under baselineGate, by the watchdog or by Arm) before `baselinePeriod` is published; read by Disarm after it.
    private long baselineCpuNs;
    private long baselineAt;
    private long baselinePeriod = -1;
    private readonly Lock baselineGate = new(); // Arm and the watchdog may both set a period's baseline

    /// <summary>Entries shorter than this (wall time) are charged their wall time, with no clock read.</summary>
    private static readonly long ShortEntryTicks = System.Diagnostics.Stopwatch.Frequency / 1000;
    private volatile bool armed;
    private volatile bool disposed;
    private volatile bool fired;
    private volatile bool firedForMemory;
    private volatile bool firedForWall;
    private int asleep; // 1 while the watchdog waits on `wake` or is about to

    /// <summary>Create on the JS thread: the clock watched is the calling thread's.</summary>
    public CpuWatchdog(Action interrupt, Func<long, bool>? memoryExceeded = null, Action? stuck = null)
    {
        this.interrupt = interrupt;
        this.memoryExceeded = memoryExceeded;
        this.stuck = stuck ?? EndProcess;
        if (PthreadGetCpuClockId(PthreadSelf(), out jsThreadClock) != 0) jsThreadClock = ClockThreadCpuTimeId;
        thread = new Thread(Watch) { IsBackground = true, Name = "cpu-watchdog" };
        thread.Start();
    }

    /// <summary>True when the last armed period ended in an interrupt.</summary>
    public bool Fired => fired;

    /// <summary>True when the last armed period was interrupted for its memory, not its CPU time.</summary>
    public bool FiredForMemory => firedForMemory;

    /// <summary>True when the last armed period was interrupted for lasting past its wall budget.</summary>
    public bool FiredForWall => firedForWall;

    /// <summary>How long an interrupted entry may take to end before the process is ended instead.</summary>
    public static readonly TimeSpan StuckAfterInterrupt = TimeSpan.FromSeconds(5);

    public long NowNs()
    {
        ClockGetTime(jsThreadClock, out var ts);
        return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
    }

    /// <summary>
    /// Starts a period of JS with a CPU budget. No CPU clock is read here (it is a system call, not
    /// a vDSO read): the watchdog takes the clock when it first looks at the period, at most a
    /// poll later, so a period may overrun its budget by about that much.
    /// </summary>
    public void Arm(long budget, long wallBudgetTicks = long.MaxValue / 4)
    {
        fired = false;
        firedForMemory = false;
        firedForWall = false;
        armedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        Volatile.Write(ref budgetNs, budget);
        Volatile.Write(ref wallDeadline, armedAt + wallBudgetTicks);
        Volatile.Write(ref arms, arms + 1);
        armed = true;
        // Pairs with the watchdog's going to sleep (Watch): it announces `asleep`, then looks at
        // `armed`; this sets `armed`, then looks at `asleep`. With a full fence on both sides, at
        // least one of them sees the other's write, so an armed period is never left unwatched.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref asleep) == 1 && Interlocked.Exchange(ref asleep, 0) == 1)
        {
            // The watchdog may take a while to wake: the first period after a quiet spell reads
            // its own baseline (one clock read per quiet spell, not per entry).
            TakeBaseline(arms, NowNs());
            wake.Release();
        }
    }

    /// <summary>
    /// Disarms and returns the CPU time spent since Arm: for a short period its wall time (an upper
    /// bound, read without a system call), otherwise the CPU clock since the watchdog's first
    /// reading plus the wall time before that reading.
    /// </summary>
    public long Disarm()
    {
        armed = false;
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var wall = now - armedAt;
        if (wall >= ShortEntryTicks && Volatile.Read(ref baselinePeriod) == Volatile.Read(ref arms))
            return NowNs() - baselineCpuNs + TicksToNs(baselineAt - armedAt);
        return TicksToNs(wall);
    }

    /// <summary>Records the CPU clock reading that <paramref name="period"/>'s use is counted from.</summary>
    private void TakeBaseline(long period, long cpuNs)
    {
        lock (baselineGate)
        {
            if (Volatile.Read(ref baselinePeriod) == period) return; // the other thread was first
            baselineCpuNs = cpuNs;
            baselineAt = System.Diagnostics.Stopwatch.GetTimestamp();
            Volatile.Write(ref baselinePeriod, period);
        }
    }

    private static long TicksToNs(long ticks) => (long)(ticks * (1e9 / System.Diagnostics.Stopwatch.Frequency));

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
        var firedAt = 0L;
        var quietPolls = 0;
        while (!disposed)
        {
            var period = Volatile.Read(ref arms);
            // Interrupted, yet the same period still runs long after: V8 cannot stop it.
            if (period == lastFired && armed && System.Diagnostics.Stopwatch.GetElapsedTime(firedAt) > StuckAfterInterrupt
                && Volatile.Read(ref arms) == period)
                stuck();
            if (armed && period != lastFired)
            {
                var budget = Volatile.Read(ref budgetNs);
                var cpu = NowNs();
                if (period != Volatile.Read(ref baselinePeriod))
                {
                    // First look at this period: its CPU is counted from here.
                    TakeBaseline(period, cpu);
                }
                else
                {
                    var used = cpu - baselineCpuNs;
                    var overCpu = used > budget;
                    var overMemory = !overCpu && used > MemoryWatchAfterNs && memoryExceeded is not null && memoryExceeded(period);
                    var overWall = !overCpu && !overMemory && System.Diagnostics.Stopwatch.GetTimestamp() > Volatile.Read(ref wallDeadline);
                    // Re-read after the readings: fire only if they belong to the period still running.
                    if ((overCpu || overMemory || overWall) && armed && Volatile.Read(ref arms) == period)
                    {
                        lastFired = period;
                        firedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                        firedForMemory = overMemory;
                        firedForWall = overWall;
                        fired = true;
                        interrupt();
                    }
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

    /// <summary>Exit status of a worker whose JS could not be interrupted.</summary>
    public const int StuckExitCode = 4;

    /// <summary>Ends the process at once: the JS thread holds the engine and cannot be waited for.</summary>
    private static void EndProcess()
    {
        try { Console.Error.WriteLine("blueboat-edge worker: JavaScript did not stop when interrupted; ending the worker"); }
        catch (IOException) { }
        Exit(StuckExitCode);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void Exit(int status);

    [LibraryImport("libc", EntryPoint = "pthread_self")]
    private static partial nint PthreadSelf();

    [LibraryImport("libc", EntryPoint = "pthread_getcpuclockid")]
    private static partial int PthreadGetCpuClockId(nint thread, out int clockId);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out Timespec ts);
}
