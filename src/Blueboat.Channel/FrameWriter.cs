using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Blueboat.Channel;

/// <summary>Builds frames into a growable buffer; several frames may be written back to back and sent in one write.</summary>
public sealed class FrameWriter : IDisposable
{
    private byte[] buffer;
    private int length;
    private int frameStart = -1;

    public FrameWriter(int initialCapacity = 4096) => buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public ReadOnlyMemory<byte> Written => buffer.AsMemory(0, length);
    public int Length => length;

    public int Capacity => buffer.Length;

    public void Reset() { length = 0; frameStart = -1; }

    /// <summary>Swaps an emptied buffer that a large body grew for a small one, so the memory goes back.</summary>
    public void Shrink(int capacity)
    {
        if (length != 0) throw new InvalidOperationException("only an empty writer can shrink");
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = ArrayPool<byte>.Shared.Rent(capacity);
    }

    public void Truncate(int mark) { length = mark; frameStart = -1; }

    /// <summary>
    /// Appends one whole frame built by <paramref name="build"/>; if building throws, the partial
    /// frame is dropped so the stream stays well-formed.
    /// </summary>
    public void Frame<TState>(FrameKind kind, uint id, TState state, Action<FrameWriter, TState> build)
    {
        var mark = length;
        try
        {
            Begin(kind, id);
            build(this, state);
            End();
        }
        catch
        {
            Truncate(mark);
            throw;
        }
    }

    public FrameWriter Begin(FrameKind kind, uint id)
    {
        if (frameStart >= 0) throw new InvalidOperationException("frame already open");
        Ensure(FrameLayout.HeaderSize);
        frameStart = length;
        buffer[length + 4] = (byte)kind;
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(length + 5), id);
        length += FrameLayout.HeaderSize;
        return this;
    }

    public void End()
    {
        var payload = length - frameStart - FrameLayout.HeaderSize;
        if (payload > FrameLayout.MaxPayload) throw new InvalidOperationException($"frame payload of {payload} bytes exceeds the channel limit");
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(frameStart), (uint)payload);
        frameStart = -1;
    }

    public FrameWriter U8(byte v) { Ensure(1); buffer[length++] = v; return this; }
    public FrameWriter U16(ushort v) { Ensure(2); BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(length), v); length += 2; return this; }
    public FrameWriter U32(uint v) { Ensure(4); BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(length), v); length += 4; return this; }
    public FrameWriter I64(long v) { Ensure(8); BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(length), v); length += 8; return this; }

    public FrameWriter Str(string? s)
    {
        s ??= "";
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        Ensure(4 + max);
        var n = Encoding.UTF8.GetBytes(s, buffer.AsSpan(length + 4));
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(length), (uint)n);
        length += 4 + n;
        return this;
    }

    public FrameWriter Bytes(ReadOnlySpan<byte> data)
    {
        Ensure(4 + data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(length), (uint)data.Length);
        data.CopyTo(buffer.AsSpan(length + 4));
        length += 4 + data.Length;
        return this;
    }

    /// <summary>Raw bytes to the end of the frame (body chunks).</summary>
    public FrameWriter Raw(ReadOnlySpan<byte> data)
    {
        Ensure(data.Length);
        data.CopyTo(buffer.AsSpan(length));
        length += data.Length;
        return this;
    }

    private void Ensure(int extra)
    {
        if (length + extra <= buffer.Length) return;
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + extra));
        buffer.AsSpan(0, length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = next;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = [];
    }
}
