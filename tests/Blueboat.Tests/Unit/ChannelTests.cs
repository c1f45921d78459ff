using System.Net.Sockets;
using Blueboat.Channel;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.Unit;

public class ChannelTests
{
    [Fact]
    public void MessagesRoundTrip()
    {
        using var w = new FrameWriter();
        var head = new RequestHead("POST", "https://h/p?q=1", "u:1", "127.0.0.1", [new("set-cookie", "a=1"), new("set-cookie", "b=2"), new("x", "é")]);
        w.Begin(FrameKind.RequestHead, 7);
        head.Write(w);
        w.End();
        var frame = w.Written.Span;
        Assert.Equal((byte)FrameKind.RequestHead, frame[4]);
        var back = RequestHead.Read(frame[FrameLayout.HeaderSize..]);
        Assert.Equal(head.Method, back.Method);
        Assert.Equal(head.Url, back.Url);
        Assert.Equal(head.Headers, back.Headers);

        w.Reset();
        var load = new LoadApp("app", "v1", "index.js", 3000, new WorkerLimits(50, 64), new Dictionary<string, string> { ["K"] = "V" }, new Dictionary<string, byte[]> { ["index.js"] = [1, 2, 3] });
        w.Begin(FrameKind.LoadApp, 0);
        load.Write(w);
        w.End();
        var loadBack = LoadApp.Read(w.Written.Span[FrameLayout.HeaderSize..]);
        Assert.Equal("V", loadBack.Env["K"]);
        Assert.Equal(new byte[] { 1, 2, 3 }, loadBack.Files["index.js"]);
        Assert.Equal(3000, loadBack.InitBudgetMs);
        Assert.Equal(new WorkerLimits(50, 64), loadBack.Limits);
        Assert.Empty(loadBack.CodeCache);
    }

    [Fact]
    public void CodeCacheWarmUpAndLoadOutcomeRoundTrip()
    {
        using var w = new FrameWriter();
        var load = new LoadApp("app", "v1", "index.mjs", 3000, WorkerLimits.Default, new Dictionary<string, string>(), new Dictionary<string, byte[]> { ["index.mjs"] = [7] })
        {
            CodeCache = [new ModuleCodeCache("index.mjs", [1, 2, 3]), new ModuleCodeCache("lib/a.mjs", [4])],
        };
        w.Begin(FrameKind.LoadApp, 0);
        load.Write(w);
        w.End();
        var back = LoadApp.Read(w.Written.Span[FrameLayout.HeaderSize..]);
        Assert.Equal(["index.mjs", "lib/a.mjs"], back.CodeCache.Select(m => m.Path));
        Assert.Equal(new byte[] { 1, 2, 3 }, back.CodeCache[0].Data);

        w.Reset();
        w.Begin(FrameKind.AppLoaded, 0);
        new AppLoaded(true, "", 1234, CodeCacheOutcome.Rejected).Write(w);
        w.End();
        Assert.Equal(new AppLoaded(true, "", 1234, CodeCacheOutcome.Rejected), AppLoaded.Read(w.Written.Span[FrameLayout.HeaderSize..]));

        w.Reset();
        w.Begin(FrameKind.Warm, 0);
        new WarmUp(96, RunRequestPath: true).Write(w);
        w.End();
        Assert.Equal(new WarmUp(96, true), WarmUp.Read(w.Written.Span[FrameLayout.HeaderSize..]));
    }

    [Fact]
    public void TruncatedPayloadIsAProtocolError()
    {
        using var w = new FrameWriter();
        w.Begin(FrameKind.Log, 0);
        new LogRecord(LogLevel.Warn, "r", "message").Write(w);
        w.End();
        var payload = w.Written.Span[FrameLayout.HeaderSize..].ToArray();
        Assert.Throws<ChannelProtocolException>(() => LogRecord.Read(payload.AsSpan(0, payload.Length - 3)));
    }

    [Fact]
    public async Task ConnectionCarriesManyFramesInOrderAcrossASocketpair()
    {
        var (client, server) = await UnixPair();
        using var a = new FrameConnection(client);
        using var b = new FrameConnection(server);
        const int count = 2000;
        var big = new byte[FrameLayout.BodyChunk];
        new Random(1).NextBytes(big);
        var received = new List<(FrameKind, uint, int)>();
        var done = new TaskCompletionSource();
        var receiving = b.ReceiveAsync((kind, id, payload) =>
        {
            received.Add((kind, id, payload.Length));
            if (kind == FrameKind.ResponseBody) Assert.True(payload.SequenceEqual(big));
            if (received.Count == count) done.TrySetResult();
        });
        for (uint i = 1; i <= count; i++)
        {
            if (i % 100 == 0) a.Send(FrameKind.ResponseBody, i, big, static (w, d) => w.Raw(d));
            else a.Send(FrameKind.ResponseEnd, i);
        }
        await done.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(Enumerable.Range(1, count).Select(i => (uint)i), received.Select(r => r.Item2));
        a.Dispose();
        await receiving.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task FramesSentUnderASendBatchLeaveTogetherWhenItEnds()
    {
        var (client, server) = await UnixPair();
        using var a = new FrameConnection(client);
        using (server)
        {
            using (SendBatch.Open())
            {
                for (uint i = 1; i <= 3; i++) a.Send(FrameKind.RequestEnd, i);
                await Task.Delay(100);
                Assert.Equal(0, server.Available); // held back while the batch is open
            }
            var expected = 3 * FrameLayout.HeaderSize;
            var buffer = new byte[expected];
            var got = 0;
            while (got < expected) got += await server.ReceiveAsync(buffer.AsMemory(got)).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal([1u, 2u, 3u], Enumerable.Range(0, 3).Select(i => BitConverter.ToUInt32(buffer, i * FrameLayout.HeaderSize + 5)));

            // Outside a batch, a frame leaves at once.
            a.Send(FrameKind.RequestEnd, 4);
            got = 0;
            while (got < FrameLayout.HeaderSize) got += await server.ReceiveAsync(buffer.AsMemory(got, FrameLayout.HeaderSize - got)).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(4u, BitConverter.ToUInt32(buffer, 5));
        }
    }

    [Fact]
    public async Task ReceiverEndsWhenThePeerCloses()
    {
        var (client, server) = await UnixPair();
        using var b = new FrameConnection(server);
        var frames = 0;
        var receiving = b.ReceiveAsync((_, _, _) => frames++, "test-reader");
        using (var a = new FrameConnection(client))
        {
            a.Send(FrameKind.RequestEnd, 1);
            await Task.Delay(50);
        }
        await receiving.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, frames);
        Assert.True(b.IsBroken);
    }

    private static async Task<(Socket Client, Socket Server)> UnixPair()
    {
        using var dir = new TempDir();
        var path = dir.Combine("s");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return (client, await listener.AcceptAsync());
    }
}
