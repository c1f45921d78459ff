using Blueboat.Worker;

namespace Blueboat.Tests.Unit;

/// <summary>
/// A quiet worker trims fully once, then gives back free pages only when it has grown past the
/// size it settled at after a trim (as V8's background collections make it grow), and starts over
/// when an event ends the quiet spell.
/// </summary>
public class QuietTrimTests
{
    private const long MB = 1024 * 1024;

    private sealed class Process
    {
        public long Resident = 90 * MB;
        public int FullTrims, Releases;
        public void FullTrim() { FullTrims++; Resident = 26 * MB; }
        public void Release() { Releases++; Resident = 26 * MB; }
    }

    private static void Quiet(QuietTrim trim, Process p) => trim.OnQuiet(p.FullTrim, p.Release, () => p.Resident);

    [Fact]
    public void TheFirstQuietSpellTrimsFullyThenLooksLessOften()
    {
        var trim = new QuietTrim();
        var p = new Process();
        Assert.Equal(1000, trim.NextLookMs);
        Quiet(trim, p);
        Assert.Equal((1, 0), (p.FullTrims, p.Releases));
        Assert.Equal(5000, trim.NextLookMs);
    }

    [Fact]
    public void WhatWakingUpMapsBackSetsTheSizeToGrowFromAndOnlyGrowthPastItIsReleased()
    {
        var trim = new QuietTrim();
        var p = new Process();
        Quiet(trim, p);
        p.Resident = 30 * MB; // the first look after the trim maps back some code: the settled size
        Quiet(trim, p);
        p.Resident = 30 * MB + QuietTrim.GrowthBeforeRelease; // not past it
        Quiet(trim, p);
        Assert.Equal((1, 0), (p.FullTrims, p.Releases));
        p.Resident = 38 * MB; // a background collection mapped pages back
        Quiet(trim, p);
        Assert.Equal((1, 1), (p.FullTrims, p.Releases));
        p.Resident = 30 * MB; // settles again after the release, with no second release
        Quiet(trim, p);
        Quiet(trim, p);
        Assert.Equal((1, 1), (p.FullTrims, p.Releases));
        p.Resident = 33 * MB;
        Quiet(trim, p);
        Assert.Equal((1, 2), (p.FullTrims, p.Releases));
    }

    [Fact]
    public void AnEventStartsTheNextQuietSpellWithAFullTrim()
    {
        var trim = new QuietTrim();
        var p = new Process();
        Quiet(trim, p);
        trim.Reset();
        Assert.Equal(1000, trim.NextLookMs);
        p.Resident = 80 * MB;
        Quiet(trim, p);
        Assert.Equal((2, 0), (p.FullTrims, p.Releases));
    }

    [Fact]
    public void AnUnreadableResidentSizeStopsTrimmingInsteadOfTrimmingAgainAndAgain()
    {
        var trim = new QuietTrim();
        var p = new Process();
        for (var i = 0; i < 6; i++) trim.OnQuiet(p.FullTrim, p.Release, () => -1);
        Assert.Equal((1, 0), (p.FullTrims, p.Releases));
        Assert.Equal(5000, trim.NextLookMs);
    }
}
