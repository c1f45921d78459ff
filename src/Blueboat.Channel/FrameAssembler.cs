using System.Buffers;
using System.Buffers.Binary;

namespace Blueboat.Channel;

/// <summary>
/// The receive buffer of one channel end: bytes are read into <see cref="FreeSpace"/>, then every
/// whole frame is handed out by <see cref="DeliverFrames"/>. Shared by the async (supervisor)
/// and blocking (worker) ends so both parse frames the same way.
/// </summary>
internal sealed class FrameAssembler : IDisposable
{
    private byte[] buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
    private int start, end;

    /// <summary>Where the next read goes; at least 64 KB unless a frame larger than the buffer is pending.</summary>
    public Memory<byte> FreeSpace => buffer.AsMemory(end);

    public void Advance(int read) => end += read;

    /// <summary>Calls <paramref name="onFrame"/> for every whole frame buffered, then makes room for the next read; returns how many.</summary>
    public int DeliverFrames(FrameConnection.FrameHandler onFrame)
    {
        var delivered = 0;
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
            delivered++;
        }
        if (start == end) { start = end = 0; }
        else if (start > 0 && buffer.Length - end < 64 * 1024)
        {
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            end -= start;
            start = 0;
        }
        return delivered;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = [];
    }
}
