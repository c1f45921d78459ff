using System.Security.Cryptography;

namespace Blueboat.Runtime.Glue;

/// <summary>The hashes crypto.subtle.digest offers (the Web Crypto set), computed by .NET's OpenSSL-backed primitives.</summary>
public static class Digests
{
    public static byte[] Compute(string algorithm, byte[] data) => algorithm switch
    {
        "SHA-1" => SHA1.HashData(data),
        "SHA-256" => SHA256.HashData(data),
        "SHA-384" => SHA384.HashData(data),
        "SHA-512" => SHA512.HashData(data),
        _ => throw new NotSupportedException($"digest algorithm {algorithm} is not supported"),
    };
}
