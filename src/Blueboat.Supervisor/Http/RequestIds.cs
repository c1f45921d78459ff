using System.Security.Cryptography;

namespace Blueboat.Supervisor.Http;

/// <summary>
/// Random version-4 UUIDs for request ids, drawn from a per-thread buffer of cryptographic random
/// bytes refilled 256 ids at a time: Guid.NewGuid made one system call per request.
/// </summary>
public static class RequestIds
{
    private const int IdsPerRefill = 256;

    [ThreadStatic] private static byte[]? pool;
    [ThreadStatic] private static int used;

    public static string NewUuid()
    {
        var bytes = pool;
        if (bytes is null || used == bytes.Length)
        {
            bytes = pool ??= new byte[16 * IdsPerRefill];
            RandomNumberGenerator.Fill(bytes);
            used = 0;
        }
        Span<byte> b = stackalloc byte[16];
        bytes.AsSpan(used, 16).CopyTo(b);
        bytes.AsSpan(used, 16).Clear(); // an id handed out leaves no copy behind
        used += 16;
        b[6] = (byte)((b[6] & 0x0f) | 0x40); // version 4
        b[8] = (byte)((b[8] & 0x3f) | 0x80); // RFC 4122 variant
        return new Guid(b, bigEndian: true).ToString("D");
    }
}
