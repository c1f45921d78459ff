using System.Diagnostics;
using System.Text;
using Blueboat.Worker;

namespace Blueboat.Tests.Unit;

public class HeapGuardTests
{
    private const long MB = 1024 * 1024;

    /// <summary>A heap, a process size and the close watch, all set by the test.</summary>
    private sealed class FakeEngine
    {
        public long Total = 4 * MB, External, Resident = 40 * MB;
        public long Garbage; // what a full collection frees
        public int Measured, Collected;
        public bool Close;
        public HeapGuard.Gauges Gauges => new(
            () => { Measured++; return (Total, External); },
            () => { Collected++; Total -= Garbage; Garbage = 0; },
            on => Close = on,
            () => Resident);
    }

    private static readonly long ShortEntry = Stopwatch.Frequency / 100_000; // 10 µs

    [Fact]
    public void TheHeapIsMeasuredAfterSoManyEntriesOrSoMuchJsTimeAndWatchedCloselyOnlyWhileLarge()
    {
        var engine = new FakeEngine();
        var guard = new HeapGuard(100 * MB, 100 * MB, engine.Gauges);
        Assert.True(guard.Check());
        Assert.False(engine.Close);
        for (var i = 0; i < HeapGuard.EntriesPerCheck - 1; i++) Assert.True(guard.EntryDone(ShortEntry));
        Assert.Equal(1, engine.Measured);
        engine.Total = 51 * MB; // past half the limit
        Assert.True(guard.EntryDone(ShortEntry));
        Assert.Equal(2, engine.Measured);
        Assert.True(engine.Close);
        Assert.True(guard.WatchingClosely);

        // A millisecond of JS, in however few entries, is measured too.
        Assert.True(guard.EntryDone(HeapGuard.JsTimePerCheck / 2));
        Assert.Equal(2, engine.Measured);
        engine.Total = 30 * MB; // between a quarter and half: stays as it is
        Assert.True(guard.EntryDone(HeapGuard.JsTimePerCheck / 2));
        Assert.Equal(3, engine.Measured);
        Assert.True(engine.Close);
        engine.Total = 24 * MB; // under a quarter
        Assert.True(guard.Check());
        Assert.False(engine.Close);
    }

    [Fact]
    public void PastTheLimitAFullCollectionDecides()
    {
        var engine = new FakeEngine { Total = 120 * MB, Garbage = 30 * MB };
        var guard = new HeapGuard(100 * MB, 100 * MB, engine.Gauges);
        Assert.True(guard.Check()); // 90 MB live after the collection
        Assert.Equal(1, engine.Collected);
        engine.Total = 130 * MB;
        engine.Garbage = 10 * MB;
        Assert.False(guard.EntryDone(HeapGuard.JsTimePerCheck)); // 120 MB live: past the limit
        Assert.Equal(2, engine.Collected);
    }

    [Fact]
    public void OnlyTheAnswersOfLongEntriesWaitForAMeasurement()
    {
        var engine = new FakeEngine { Total = 150 * MB };
        var guard = new HeapGuard(100 * MB, 100 * MB, engine.Gauges);
        Assert.True(guard.AllowsAnswer(ShortEntry));
        Assert.Equal(0, engine.Measured);
        Assert.False(guard.AllowsAnswer(HeapGuard.LongEntry));
        engine.Total = 50 * MB;
        Assert.True(guard.AllowsAnswer(HeapGuard.LongEntry * 10));
        Assert.Equal(3, engine.Measured); // one past the limit, one after the collection, one now

        // Near the limit every answer waits for a measurement, however short its entry.
        engine.Total = 80 * MB;
        Assert.True(guard.Check());
        var measured = engine.Measured;
        Assert.True(guard.AllowsAnswer(ShortEntry));
        Assert.Equal(measured + 1, engine.Measured);
        engine.Total = 101 * MB;
        Assert.False(guard.AllowsAnswer(ShortEntry));
    }

    [Fact]
    public void ALongEntryIsTooLargeOnceTheProcessOutgrowsItsBaselineByWhatTheBudgetsHadLeftPlusTheMargin()
    {
        var engine = new FakeEngine { Total = 10 * MB, External = 20 * MB, Resident = 50 * MB };
        var guard = new HeapGuard(100 * MB, 100 * MB, engine.Gauges);
        Assert.False(guard.Exceeded(1)); // nothing measured yet: nothing to compare with
        guard.Check();
        var allowed = 90 * MB + 80 * MB + HeapGuard.Margin;

        Assert.False(guard.Exceeded(2)); // the period's first look takes its baseline (50 MB)
        engine.Resident = 50 * MB + allowed;
        Assert.False(guard.Exceeded(2));
        engine.Resident = 50 * MB + allowed + 1;
        Assert.True(guard.Exceeded(2));

        // A new entry is measured from where the process stands when it is first looked at.
        Assert.False(guard.Exceeded(3));
        engine.Resident += allowed;
        Assert.False(guard.Exceeded(3));
        engine.Resident += 1;
        Assert.True(guard.Exceeded(3));

        // While ClearScript watches closely it stops the heap itself; the process size is not compared.
        engine.Total = 60 * MB;
        guard.Check();
        Assert.True(engine.Close);
        Assert.False(guard.Exceeded(4));
        engine.Resident = 10_000 * MB;
        Assert.False(guard.Exceeded(4));
    }

    [Fact]
    public void AProcessSizeThatCannotBeReadStopsNothing()
    {
        var engine = new FakeEngine { Resident = -1 };
        var guard = new HeapGuard(100 * MB, 100 * MB, engine.Gauges);
        guard.Check();
        Assert.False(guard.Exceeded(1));
        engine.Resident = 10_000 * MB;
        Assert.False(guard.Exceeded(1));
    }

    [Theory]
    [InlineData("1234 567 89 10 0 300 0\n", 567L)]
    [InlineData("1 2", 2L)]
    [InlineData("1234", null)]
    [InlineData("1234 x 5", null)]
    public void TheResidentPageCountIsStatmsSecondField(string statm, long? pages) =>
        Assert.Equal(pages, ResidentMemory.Parse(Encoding.ASCII.GetBytes(statm)));

    [Fact]
    public void ThisProcessHasAResidentSize()
    {
        var bytes = ResidentMemory.Bytes();
        Assert.InRange(bytes, 1 * MB, Environment.WorkingSet * 2 + 64 * MB);
    }
}
