using Blueboat.Channel;
using Blueboat.Tests.Support;
using Blueboat.Worker;

namespace Blueboat.Tests.Unit;

/// <summary>The worker loop's event sources: posts from other threads and frames read without waiting.</summary>
[Collection(TimingSensitive.Name)] // the hammers want both cores
public class WorkerInboxTests
{
    /// <summary>Longer than any honest wake-up takes: a sleep that times out with an event posted lost its wake-up.</summary>
    private const int LostWakeUpMs = 5000;

    [Fact]
    public void APostRacingTheLoopIntoSleepAlwaysWakesIt()
    {
        // Ping-pong: every post is made while the loop is on its way to sleep, the window a lost wake-up needs.
        using var posted = new PostedEvents();
        const int rounds = 20_000;
        var taken = 0;
        var lost = 0;
        var misordered = 0;
        var consumer = new Thread(() =>
        {
            while (Volatile.Read(ref taken) < rounds)
            {
                if (posted.TryTake(out var ev))
                {
                    if (((WorkerEvent.TimerDue)ev).TimerId != Volatile.Read(ref taken)) misordered++;
                    Interlocked.Increment(ref taken);
                }
                else if (!posted.Sleep(-1, LostWakeUpMs) && posted.TryTake(out ev))
                {
                    Interlocked.Increment(ref lost);
                    Interlocked.Increment(ref taken);
                }
            }
        });
        consumer.Start();
        var random = new Random(7);
        for (var i = 0; i < rounds; i++)
        {
            posted.Post(new WorkerEvent.TimerDue(i));
            var spin = new SpinWait();
            while (Volatile.Read(ref taken) <= i) spin.SpinOnce(sleep1Threshold: -1);
            Thread.SpinWait(random.Next(0, 200)); // land the next post at varying points of the loop's way to sleep
        }
        Assert.True(consumer.Join(TimeSpan.FromSeconds(60)), "the consumer did not finish");
        Assert.Equal(0, lost);
        Assert.Equal(0, misordered);
    }

    [Fact]
    public void ManyPostersLoseNoEventAndKeepEachPostersOrder()
    {
        using var posted = new PostedEvents();
        const int posters = 4, perPoster = 50_000;
        var lost = 0;
        var misordered = 0;
        var next = new int[posters];
        var consumer = new Thread(() =>
        {
            var total = 0;
            while (total < posters * perPoster)
            {
                if (posted.TryTake(out var ev))
                {
                    var id = ((WorkerEvent.TimerDue)ev).TimerId;
                    if (next[id / perPoster]++ != id % perPoster) misordered++; // FIFO per poster
                    total++;
                }
                else if (!posted.Sleep(-1, LostWakeUpMs)) lost++;
            }
        });
        consumer.Start();
        var threads = Enumerable.Range(0, posters).Select(p => new Thread(() =>
        {
            var random = new Random(p);
            for (var i = 0; i < perPoster; i++)
            {
                posted.Post(new WorkerEvent.TimerDue(p * perPoster + i));
                if (random.Next(16) == 0) Thread.Yield(); // let the loop drain and go to sleep now and then
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.True(consumer.Join(TimeSpan.FromSeconds(60)), "the consumer did not finish");
        Assert.Equal(0, lost);
        Assert.Equal(0, misordered);
        Assert.All(next, n => Assert.Equal(perPoster, n));
    }

    [Fact]
    public void SleepEndsWhenTheChannelHasBytesOrTheTimeoutPasses()
    {
        using var posted = new PostedEvents();
        var (a, b) = Posix.SocketPair();
        using var reader = BlockingFrameChannel.Open(a)!;
        using var writer = BlockingFrameChannel.Open(b)!;
        Assert.False(posted.Sleep(reader.Descriptor, 50));
        writer.Send(FrameKind.RequestEnd, 1);
        writer.Flush();
        Assert.True(posted.Sleep(reader.Descriptor, LostWakeUpMs));
    }

    [Fact]
    public void RequestsWithLargeBodiesArriveWholeWhileTheSenderWaitsForTheLoop()
    {
        // 10 MB in 256 KB body frames through a socket buffer far smaller: the sender's writes
        // wait for the loop's reads, and the assembler grows for frames larger than its buffer.
        using var posted = new PostedEvents();
        var (a, b) = Posix.SocketPair();
        using var channel = BlockingFrameChannel.Open(a)!;
        var inbox = new WorkerInbox(channel, posted);
        var body = new byte[10 * 1024 * 1024];
        new Random(3).NextBytes(body);
        const int small = 100;
        var sender = new Thread(() =>
        {
            posted.Post(new WorkerEvent.TimerDue(42)); // a timer due while the body streams
            using var writer = BlockingFrameChannel.Open(b)!;
            var head = new RequestHead("POST", "https://x.test/upload", "r1", "127.0.0.1", [new("host", "x.test")]);
            writer.Send(FrameKind.RequestHead, 1, head, static (w, h) => h.Write(w));
            for (var offset = 0; offset < body.Length; offset += FrameLayout.BodyChunk)
                writer.SendRaw(FrameKind.RequestBody, 1, body.AsSpan(offset, Math.Min(FrameLayout.BodyChunk, body.Length - offset)));
            writer.Send(FrameKind.RequestEnd, 1);
            for (uint id = 2; id < 2 + small; id++)
            {
                writer.Send(FrameKind.RequestHead, id, head with { RequestId = $"r{id}" }, static (w, h) => h.Write(w));
                writer.Send(FrameKind.RequestEnd, id);
            }
            writer.Send(FrameKind.Cancel, 7);
            writer.Flush();
        }); // disposing the writer closes the channel
        sender.Start();

        var events = new List<WorkerEvent>();
        while (events.LastOrDefault() is not WorkerEvent.ChannelClosed)
        {
            if (inbox.TryTake(out var ev)) events.Add(ev);
            else Assert.True(inbox.Wait(LostWakeUpMs), "the loop slept through a frame or a post");
        }
        Assert.True(sender.Join(TimeSpan.FromSeconds(10)));

        var requests = events.OfType<WorkerEvent.RequestReady>().ToList();
        Assert.Equal(Enumerable.Range(1, 1 + small).Select(i => (uint)i), requests.Select(r => r.ExchangeId));
        Assert.True(requests[0].Body.AsSpan().SequenceEqual(body));
        Assert.All(requests.Skip(1), r => Assert.Empty(r.Body));
        Assert.Equal($"r{small + 1}", requests[^1].Head.RequestId);
        Assert.Single(events.OfType<WorkerEvent.Cancelled>(), c => c.ExchangeId == 7);
        Assert.Single(events.OfType<WorkerEvent.TimerDue>(), t => t.TimerId == 42);
        Assert.True(channel.IsBroken); // nothing can be sent once the supervisor is gone
        Assert.True(inbox.TryTake(out var again) && again is WorkerEvent.ChannelClosed); // and it stays closed
    }
}
