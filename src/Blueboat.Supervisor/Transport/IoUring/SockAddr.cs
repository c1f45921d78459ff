using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Blueboat.Supervisor.Transport.IoUring;

/// <summary>Reads a socket's local or peer address (getsockname/getpeername) as an IPEndPoint.</summary>
internal static unsafe class SockAddr
{
    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    public static IPEndPoint? Read(int fd, bool peer)
    {
        var buffer = stackalloc byte[128];
        uint len = 128;
        var rc = peer ? UringNative.GetPeerName(fd, buffer, ref len) : UringNative.GetSockName(fd, buffer, ref len);
        if (rc != 0) return null;
        var span = new ReadOnlySpan<byte>(buffer, (int)len);
        var family = BitConverter.ToUInt16(span);
        var port = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
        return family switch
        {
            AfInet => new IPEndPoint(new IPAddress(span.Slice(4, 4)), port),
            AfInet6 => new IPEndPoint(new IPAddress(span.Slice(8, 16), BitConverter.ToUInt32(span[24..])), port),
            _ => null,
        };
    }
}
