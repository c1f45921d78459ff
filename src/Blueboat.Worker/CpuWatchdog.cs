using System.Runtime.InteropServices;

namespace Blueboat.Worker;

/// <summary>
/// Stops JS that exceeds its CPU time: armed when the loop enters JS for a request, it reads the
/// JS thread's own CPU clock (not the wall clock, so waiting on timers costs nothing) every
/// millisecond and interrupts the engine once the request's budget is spent. Idle, it sleeps.
/// </summary>
internal sealed partial class CpuWatchdog : IDisposable
{
    private const int ClockThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID, for the creating thread's clock id

    private readonly int jsThreadClock;
    private readonly Action interrupt;
    private readonly SemaphoreSlim wake = new(0);
    private readonly Thread thread;
    private long startNs;
    private long budgetNs;
    private volatile bool armed;
    private volatile bool disposed;
    private volatile bool fired;

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
        budgetNs = budget;
        armed = true;
        wake.Release();
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
            wake.Wait();
            while (armed && !disposed)
            {
                if (NowNs() - startNs > budgetNs)
                {
                    fired = true;
                    armed = false;
                    interrupt();
                    break;
                }
                Thread.Sleep(1);
            }
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
