using System.Diagnostics;
using Blueboat.Tests.Support;
using Blueboat.Worker;

namespace Blueboat.Tests.Unit;

[Collection(TimingSensitive.Name)]
public class CpuWatchdogTests
{
    /// <summary>Burns this thread's CPU until the watchdog interrupts or 5 s of wall time pass.</summary>
    private static bool SpinUntil(Func<bool> interrupted)
    {
        var wall = Stopwatch.StartNew();
        while (!interrupted())
            if (wall.Elapsed > TimeSpan.FromSeconds(5)) return false;
        return true;
    }

    [Fact]
    public void ItInterruptsWhileBusyAndAfterSleepingAndSleepsWhenIdle()
    {
        var interrupts = 0;
        using var watchdog = new CpuWatchdog(() => Interlocked.Increment(ref interrupts));

        // Many short periods (the loop under load), then one past its budget: stopped while polling.
        for (var i = 0; i < 2000; i++)
        {
            watchdog.Arm(1_000_000_000);
            watchdog.Disarm();
        }
        Assert.False(watchdog.Fired);
        watchdog.Arm(20_000_000);
        Assert.True(SpinUntil(() => Volatile.Read(ref interrupts) == 1));
        Assert.True(watchdog.Fired);
        watchdog.Disarm();
        Thread.Sleep(20);
        Assert.Equal(1, Volatile.Read(ref interrupts)); // once per period

        // Idle, it goes to sleep (its context switches stop; polling switches every millisecond)
        // and stays asleep. Then an Arm wakes it and it stops the next overrun.
        var wall = Stopwatch.StartNew();
        var switches = WatchdogContextSwitches();
        while (true)
        {
            Thread.Sleep(20);
            var now = WatchdogContextSwitches();
            if (now == switches) break;
            switches = now;
            Assert.True(wall.Elapsed < TimeSpan.FromSeconds(5), "the idle watchdog keeps waking up");
        }
        Thread.Sleep(100);
        Assert.Equal(switches, WatchdogContextSwitches());
        var expected = 1;
        foreach (var pause in new[] { 0, 1, 2, 3, 4, 5, 10 }) // Arm while it sleeps, or while it is about to
        {
            watchdog.Arm(10_000_000);
            Assert.False(watchdog.Fired);
            expected++;
            Assert.True(SpinUntil(() => Volatile.Read(ref interrupts) == expected), $"after a pause of {pause} ms");
            watchdog.Disarm();
            Thread.Sleep(pause);
        }
    }

    /// <summary>Context switches of this process's watchdog thread so far (there is one: this test's).</summary>
    private static long WatchdogContextSwitches()
    {
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).Trim() != "cpu-watchdog") continue;
            return File.ReadAllLines(Path.Combine(task, "status"))
                .Where(l => l.StartsWith("voluntary_ctxt_switches:") || l.StartsWith("nonvoluntary_ctxt_switches:"))
                .Sum(l => long.Parse(l.Split(':')[1].Trim()));
        }
        throw new InvalidOperationException("no cpu-watchdog thread");
    }
}

[Collection(TimingSensitive.Name)]
public class CpuWatchdogMemoryTests
{
    [Fact]
    public void ItInterruptsAnArmedPeriodThatOutgrowsItsMemoryAndSaysSo()
    {
        var interrupts = 0;
        var grown = false;
        var asked = 0;
        using var watchdog = new CpuWatchdog(() => Interlocked.Increment(ref interrupts), _ => { Interlocked.Increment(ref asked); return Volatile.Read(ref grown); });
        watchdog.Arm(10_000_000_000); // far more CPU than this takes
        Thread.Sleep(20);
        Assert.Equal(0, Volatile.Read(ref asked)); // a period that has used little CPU is not asked about its memory
        Volatile.Write(ref grown, true);
        Spin(TimeSpan.FromMilliseconds(30)); // the armed period is this thread's: it uses CPU now
        var wall = Stopwatch.StartNew();
        while (Volatile.Read(ref interrupts) == 0 && wall.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(1);
        watchdog.Disarm();
        Assert.Equal(1, Volatile.Read(ref interrupts));
        Assert.True(watchdog.Fired);
        Assert.True(watchdog.FiredForMemory);

        // A period that is not armed is never interrupted, however large the process is.
        Thread.Sleep(20);
        Assert.Equal(1, Volatile.Read(ref interrupts));
        watchdog.Arm(10_000_000_000);
        Assert.False(watchdog.FiredForMemory);
        watchdog.Disarm();
    }

    private static void Spin(TimeSpan time)
    {
        var wall = Stopwatch.StartNew();
        while (wall.Elapsed < time) { }
    }
}
