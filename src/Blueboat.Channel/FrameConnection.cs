using System.Buffers;
using System.Buffers.Binary;
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
            var mark = pending.Length;
            try
            {
                pending.Begin(kind, id);
                build(pending, state);
                pending.End();
            }
            catch
            {
                // drop the partial frame so the stream stays well-formed
                pending.Truncate(mark);
                throw;
            }
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
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                // parse every whole frame in the buffer
                while (end - start >= FrameLayout.HeaderSize)
                {
                    var header = buffer.AsSpan(start, FrameLayout.HeaderSize);
                    var payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
                    if (payloadLength > FrameLayout.MaxPayload)
                        throw new ChannelProtocolException($"frame of {payloadLength} bytes exceeds the channel limit");
                    var total = FrameLayout.HeaderSize + (int)payloadLength;
                    if (end - start < total)
                    {
                        if (total > buffer.Length)
                        {
                            var bigger = ArrayPool<byte>.Shared.Rent(total);
                            buffer.AsSpan(start, end - start).CopyTo(bigger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = bigger;
                            end -= start;
                            start = 0;
                        }
                        break;
                    }
                    var kind = (FrameKind)header[4];
                    var id = BinaryPrimitives.ReadUInt32LittleEndian(header[5..]);
                    onFrame(kind, id, buffer.AsSpan(start + FrameLayout.HeaderSize, (int)payloadLength));
                    start += total;
                }
                if (start == end) { start = end = 0; }
                else if (start > 0 && buffer.Length - end < 64 * 1024)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }

                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, cancel).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    n = 0;
                }
                if (n == 0) return;
                end += n;
            }
        }
        finally
        {
            broken = true;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        broken = true;
        try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        socket.Dispose();
    }
}
