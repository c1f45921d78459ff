namespace Blueboat.Worker;

/// <summary>
/// Holds an app's JS memory to its heap limit without paying ClearScript's heap watch on every
/// entry into JS (a heap-statistics read plus a timer made and destroyed per entry: about a sixth
/// of a hello-world worker's CPU, measured). Every <see cref="EntriesPerCheck"/> entries the loop
/// measures the heap: past half the limit ClearScript's watch goes on (it checks at every entry and
/// every 50 ms while JS runs, collecting garbage before it stops anything), under a quarter it
/// goes off again. While it is off, one long entry that allocates without end is caught by the
/// watchdog instead: once the entry has run for a while (<see cref="CpuWatchdog.MemoryWatchAfterNs"/>)
/// the process size is taken as its baseline, and the entry is stopped once the process has grown
/// past it by more than the heap and ArrayBuffer budgets had left at the last measurement, plus
/// <see cref="Margin"/> for the rest. Short entries never read /proc (an open, a read and a close
/// per poll cost several percent of a busy worker's CPU, measured).
/// (V8's own old-space limit is the app's limit, so garbage is collected before it can grow that far.)
/// </summary>
internal sealed class HeapGuard(long heapLimitBytes, long arrayBufferLimitBytes, HeapGuard.Gauges gauges)
{
    /// <summary>What the guard reads and switches; the engine and /proc in the worker, fakes in tests.</summary>
    public sealed record Gauges(Func<(long Total, long External)> MeasureHeap, Action<bool> WatchClosely, Func<long> ResidentBytes);

    public const int EntriesPerCheck = 16;

    /// <summary>Growth allowed beyond the JS budgets in one entry: the runtime's own buffers, .NET's heap, and what the entry allocated before its baseline was taken.</summary>
    public const long Margin = 48L * 1024 * 1024;

    private int entriesSinceCheck;
    private long allowedGrowth = long.MaxValue; // read by the watchdog's thread; MaxValue: nothing to watch
    // The watchdog's own: the period whose baseline it holds, and that baseline (-1: /proc unreadable).
    private long baselinePeriod = -1;
    private long baselineResident;

    /// <summary>True while ClearScript's heap watch is on.</summary>
    public bool WatchingClosely { get; private set; }

    /// <summary>Called by the loop after each entry into JS.</summary>
    public void EntryDone()
    {
        if (++entriesSinceCheck >= EntriesPerCheck) Check();
    }

    /// <summary>Measures the heap now and sets the watch to suit (on the JS thread, between entries).</summary>
    public void Check()
    {
        entriesSinceCheck = 0;
        var (total, external) = gauges.MeasureHeap();
        if (!WatchingClosely && total > heapLimitBytes / 2) SetClose(true);
        else if (WatchingClosely && total < heapLimitBytes / 4) SetClose(false);
        Volatile.Write(ref allowedGrowth, WatchingClosely
            ? long.MaxValue
            : Math.Max(0, heapLimitBytes - total) + Math.Max(0, arrayBufferLimitBytes - external) + Margin);
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
