namespace Blueboat.Worker;

/// <summary>
/// Holds an app's JS heap to its limit without paying ClearScript's heap watch on every entry
/// into JS (a heap reading plus a .NET timer made and destroyed per entry: about a third of a
/// hello-world worker's CPU, measured). Instead:
/// <list type="bullet">
/// <item>Between entries the loop measures the heap once <see cref="JsTimePerCheck"/> of JS has run
/// since the last measurement (or <see cref="EntriesPerCheck"/> entries), so little can be allocated
/// unseen: past the limit, after a full collection, the worker must retire.</item>
/// <item>An answer given after its entry has run <see cref="LongEntry"/>, or while the heap was past
/// three quarters of its limit when last measured, is held back until the heap is measured
/// (<see cref="AllowsAnswer"/>): a request that took the heap past its limit gets 503, not its answer.</item>
/// <item>Past half the limit ClearScript's close watch goes on (it reads the heap at every entry and
/// every 50 ms while JS runs); under a quarter it goes off again.</item>
/// <item>While it is off, one long entry that allocates without end is stopped by the CPU watchdog:
/// once the entry has used <see cref="CpuWatchdog.MemoryWatchAfterNs"/> of CPU the process size is
/// its baseline, and it is stopped once the process has grown past that by more than the heap and
/// ArrayBuffer budgets had left at the last measurement, plus <see cref="Margin"/>. Short entries
/// never read /proc.</item>
/// </list>
/// </summary>
internal sealed class HeapGuard(long heapLimitBytes, long arrayBufferLimitBytes, HeapGuard.Gauges gauges)
{
    /// <summary>What the guard reads and does; the engine and /proc in the worker, fakes in tests.</summary>
    public sealed record Gauges(Func<(long Total, long External)> MeasureHeap, Action CollectGarbage, Action<bool> WatchClosely, Func<long> ResidentBytes);

    public const int EntriesPerCheck = 64;

    /// <summary>JS wall time between two measurements at most (a few MB of allocation at most in that time).</summary>
    public static readonly long JsTimePerCheck = System.Diagnostics.Stopwatch.Frequency / 1000;

    /// <summary>Entries at least this long (wall) have their answers checked against the heap first.</summary>
    public static readonly long LongEntry = System.Diagnostics.Stopwatch.Frequency / 500;

    /// <summary>Growth allowed beyond the JS budgets in one entry: the runtime's own buffers, .NET's heap, and what the entry allocated before its baseline was taken.</summary>
    public const long Margin = 48L * 1024 * 1024;

    private int entriesSinceCheck;
    private long jsTicksSinceCheck;
    private long allowedGrowth = long.MaxValue; // read by the watchdog's thread; MaxValue: nothing to watch
    // The watchdog's own: the period whose baseline it holds, and that baseline (-1: /proc unreadable).
    private long baselinePeriod = -1;
    private long baselineResident;

    /// <summary>True while ClearScript's heap watch is on.</summary>
    public bool WatchingClosely { get; private set; }

    /// <summary>
    /// Called by the loop after each entry into JS, with its wall time; false when the heap is past
    /// its limit even after a full collection (the worker must retire).
    /// </summary>
    public bool EntryDone(long entryTicks)
    {
        jsTicksSinceCheck += entryTicks;
        if (++entriesSinceCheck < EntriesPerCheck && jsTicksSinceCheck < JsTimePerCheck) return true;
        return Check();
    }

    /// <summary>
    /// From inside an entry that has run <paramref name="entryTicks"/> so far, before one of its
    /// answers goes out: false when the heap is past its limit even after a full collection.
    /// </summary>
    public bool AllowsAnswer(long entryTicks) => (entryTicks < LongEntry && lastTotal <= heapLimitBytes / 4 * 3) || Check();

    private long lastTotal; // the heap's size at the last measurement

    /// <summary>Measures the heap now and sets the watch to suit; false when it is past its limit after a full collection.</summary>
    public bool Check()
    {
        entriesSinceCheck = 0;
        jsTicksSinceCheck = 0;
        var (total, external) = gauges.MeasureHeap();
        if (total > heapLimitBytes)
        {
            gauges.CollectGarbage();
            (total, external) = gauges.MeasureHeap();
            if (total > heapLimitBytes) return false;
        }
        lastTotal = total;
        if (!WatchingClosely && total > heapLimitBytes / 2) SetClose(true);
        else if (WatchingClosely && total < heapLimitBytes / 4) SetClose(false);
        Volatile.Write(ref allowedGrowth, WatchingClosely
            ? long.MaxValue
            : Math.Max(0, heapLimitBytes - total) + Math.Max(0, arrayBufferLimitBytes - external) + Margin);
        return true;
    }

    private void SetClose(bool on)
    {
        gauges.WatchClosely(on);
        WatchingClosely = on;
    }

    /// <summary>
    /// From the watchdog's thread, for a long entry (<paramref name="period"/> tells entries apart):
    /// the first call of a period takes its baseline; later ones are true once the process has grown
    /// past it by more than the last check allowed.
    /// </summary>
    public bool Exceeded(long period)
    {
        var allowed = Volatile.Read(ref allowedGrowth);
        if (allowed == long.MaxValue) return false;
        if (period != baselinePeriod)
        {
            baselinePeriod = period;
            baselineResident = gauges.ResidentBytes();
            return false;
        }
        return baselineResident >= 0 && gauges.ResidentBytes() - baselineResident > allowed;
    }
}
