using Blueboat.Supervisor.Workers;

namespace Blueboat.Tests.Unit;

public class DeadlineSweepTests
{
    [Fact]
    public async Task TicksWhileWorkIsLeftThenStopsAndStartsAgainOnWatch()
    {
        var left = 3; // exchanges still in flight; each tick retires one
        var ticks = 0;
        var ticked = new SemaphoreSlim(0);
        using var sweep = new DeadlineSweep(() =>
        {
            Interlocked.Increment(ref ticks);
            var more = Interlocked.Decrement(ref left) > 0;
            if (!more) Volatile.Write(ref left, 0);
            ticked.Release();
            return more;
        });
        sweep.Watch();
        while (Volatile.Read(ref left) > 0) Assert.True(await ticked.WaitAsync(TimeSpan.FromSeconds(5)));
        await Task.Delay(DeadlineSweep.Period * 10);
        var stoppedAt = Volatile.Read(ref ticks);
        await Task.Delay(DeadlineSweep.Period * 10);
        Assert.Equal(stoppedAt, Volatile.Read(ref ticks)); // idle: no timer runs

        Volatile.Write(ref left, 2);
        sweep.Watch();
        while (Volatile.Read(ref left) > 0) Assert.True(await ticked.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(Volatile.Read(ref ticks) > stoppedAt);
    }
}
