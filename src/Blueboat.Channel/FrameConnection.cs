using System.Net.Sockets;

namespace Blueboat.Channel;

/// <summary>
/// One end of the supervisor-worker socketpair. Sends are queued and flushed by one writer, so
/// frames produced while a write is in flight leave together in the next write (batching without
/// a timer). Receives hand each frame's payload to a callback, valid only during the call.
/// </summary>
public sealed class FrameConnection : IDisposable
{
    public delegate void FrameHandler(FrameKind kind, uint id, ReadOnlySpan<byte> payload);

    private readonly Socket socket;
    private readonly Lock gate = new();
    private FrameWriter pending = new(64 * 1024);
    private FrameWriter? spare = new(64 * 1024);
    private bool flushing;
    private volatile bool broken;

    public FrameConnection(Socket socket) => this.socket = socket;

    public bool IsBroken => broken;

    /// <summary>Queues one frame built by <paramref name="build"/>.</summary>
    public void Send<TState>(FrameKind kind, uint id, TState state, Action<FrameWriter, TState> build)
    {
        if (broken) return;
        bool start = false;
        lock (gate)
        {
            pending.Frame(kind, id, state, build);
            if (!flushing) { flushing = true; start = true; }
        }
        if (start) _ = FlushAsync();
    }

    public void Send(FrameKind kind, uint id) => Send(kind, id, 0, static (_, _) => { });

    private async Task FlushAsync()
    {
        while (true)
        {
            FrameWriter batch;
            lock (gate)
            {
                if (pending.Length == 0 || broken) { flushing = false; return; }
                batch = pending;
                pending = spare ?? new FrameWriter(64 * 1024);
                spare = null;
            }
            try
            {
                var data = batch.Written;
                while (data.Length > 0)
                {
                    var n = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
                    data = data[n..];
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                broken = true;
            }
            batch.Reset();
            lock (gate) spare = batch;
        }
    }

    /// <summary>Waits until every queued frame has been written, or the timeout passes (used before exiting).</summary>
    public void Drain(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !broken)
        {
            lock (gate) if (!flushing && pending.Length == 0) return;
            Thread.Sleep(1);
        }
    }

    /// <summary>Reads frames until the peer closes the channel or breaks the protocol.</summary>
    public async Task ReceiveAsync(FrameHandler onFrame, CancellationToken cancel = default)
    {
        using var frames = new FrameAssembler();
        try
        {
            while (true)
            {
                frames.DeliverFrames(onFrame);
                int n;
                try
                {
                    n = await socket.ReceiveAsync(frames.FreeSpace, SocketFlags.None, cancel).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    n = 0;
                }
                if (n == 0) return;
                frames.Advance(n);
            }
        }
        finally
        {
            broken = true;
        }
    }

    public void Dispose()
    {
        broken = true;
        try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        socket.Dispose();
    }
}
