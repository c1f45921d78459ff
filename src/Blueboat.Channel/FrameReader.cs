using System.Buffers.Binary;
using System.Text;

namespace Blueboat.Channel;

/// <summary>Reads the fields of one frame's payload in order; a short payload is a protocol error.</summary>
public ref struct FrameReader(ReadOnlySpan<byte> payload)
{
    private readonly ReadOnlySpan<byte> payload = payload;
    private int pos;

    public readonly int Remaining => payload.Length - pos;

    public byte U8() { Need(1); return payload[pos++]; }
    public ushort U16() { Need(2); var v = BinaryPrimitives.ReadUInt16LittleEndian(payload[pos..]); pos += 2; return v; }
    public uint U32() { Need(4); var v = BinaryPrimitives.ReadUInt32LittleEndian(payload[pos..]); pos += 4; return v; }
    public long I64() { Need(8); var v = BinaryPrimitives.ReadInt64LittleEndian(payload[pos..]); pos += 8; return v; }

    public string Str()
    {
        var n = (int)U32();
        Need(n);
        var s = Encoding.UTF8.GetString(payload.Slice(pos, n));
        pos += n;
        return s;
    }

    public ReadOnlySpan<byte> Bytes()
    {
        var n = (int)U32();
        Need(n);
        var s = payload.Slice(pos, n);
        pos += n;
        return s;
    }

    public ReadOnlySpan<byte> Rest()
    {
        var s = payload[pos..];
        pos = payload.Length;
        return s;
    }

    private readonly void Need(int n)
    {
        if (n < 0 || pos + n > payload.Length) throw new ChannelProtocolException("frame payload is shorter than its fields");
    }
}

public sealed class ChannelProtocolException(string message) : Exception(message);
