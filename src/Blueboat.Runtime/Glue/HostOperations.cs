using System.Security.Cryptography;
using System.Text;
using Blueboat.Apps;
using Blueboat.Channel;
using Microsoft.ClearScript.JavaScript;
using Microsoft.ClearScript.V8;
using Microsoft.ClearScript.V8.FastProxy;

namespace Blueboat.Runtime.Glue;

/// <summary>
/// The host operations installed as `__bb_*` globals for the runtime bundle to capture. They use
/// ClearScript's fast host functions, the host API that works under Native AOT (plain host
/// objects need reflection that AOT removes). Bytes cross by copying into typed arrays JS owns.
/// </summary>
internal sealed class HostOperations(IRuntimeHost host, Func<AppPackage?> package)
{
    public void Install(V8ScriptEngine engine)
    {
        Set(engine, "eventBody", 1, (bool _, in V8FastArgs a, in V8FastResult _) =>
        {
            var target = a.Get<ITypedArray<byte>>(0, "destination");
            var buffer = new byte[target.Length];
            host.CopyEventBody(buffer);
            target.Write(buffer, 0, (ulong)buffer.Length, 0);
        });
        Set(engine, "respond", 4, (bool _, in V8FastArgs a, in V8FastResult _) =>
        {
            var exchange = a.GetUInt32(0, "exchange");
            var status = a.GetInt32(1, "status");
            var headers = a.GetString(2, "headers");
            var body = a.Get<ITypedArray<byte>>(3, "body");
            host.Respond(exchange, status, headers, ReadAll(body));
        });
        Set(engine, "log", 3, (bool _, in V8FastArgs a, in V8FastResult _) =>
            host.Log((LogLevel)Math.Clamp(a.GetInt32(0, "level"), 0, 3), a.GetString(1, "requestId"), a.GetString(2, "message")));
        Set(engine, "timerSet", 3, (bool _, in V8FastArgs a, in V8FastResult _) =>
            host.SetTimer(a.GetInt32(0, "id"), a.GetDouble(1, "delay"), a.GetUInt32(2, "exchange")));
        Set(engine, "timerClear", 1, (bool _, in V8FastArgs a, in V8FastResult _) => host.ClearTimer(a.GetInt32(0, "id")));
        Set(engine, "randomFill", 1, (bool _, in V8FastArgs a, in V8FastResult _) =>
        {
            var target = a.Get<ITypedArray<byte>>(0, "array");
            var bytes = RandomNumberGenerator.GetBytes(checked((int)target.Length));
            target.Write(bytes, 0, (ulong)bytes.Length, 0);
        });
        // Bytes as binary strings (one char per byte): see js/binary.js for why.
        Set(engine, "digest", 2, (bool _, in V8FastArgs a, in V8FastResult r) =>
            r.Set(Encoding.Latin1.GetString(Digests.Compute(a.GetString(0, "algorithm"), Encoding.Latin1.GetBytes(a.GetString(1, "data"))))));
        // UTF-8 both ways; .NET replaces lone surrogates and invalid sequences with U+FFFD as the Encoding Standard does.
        Set(engine, "utf8Encode", 1, (bool _, in V8FastArgs a, in V8FastResult r) =>
            r.Set(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(a.GetString(0, "text")))));
        Set(engine, "utf8Decode", 1, (bool _, in V8FastArgs a, in V8FastResult r) =>
            r.Set(Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(a.GetString(0, "bytes")))));
        Set(engine, "eventBodyText", 1, (bool _, in V8FastArgs a, in V8FastResult r) =>
        {
            var length = a.GetInt32(0, "length");
            if (length is < 0 or > MaxStringCrossing) throw new ArgumentOutOfRangeException(nameof(length), $"body of {length} bytes cannot cross as a string");
            var buffer = new byte[length];
            host.CopyEventBody(buffer);
            r.Set(Encoding.Latin1.GetString(buffer));
        });
        Set(engine, "respondText", 4, (bool _, in V8FastArgs a, in V8FastResult _) =>
            host.Respond(a.GetUInt32(0, "exchange"), a.GetInt32(1, "status"), a.GetString(2, "headers"), Encoding.Latin1.GetBytes(a.GetString(3, "body"))));
        Set(engine, "fetchStart", 4, (bool _, in V8FastArgs a, in V8FastResult _) =>
            host.FetchStart(a.GetInt32(0, "id"), a.GetUInt32(1, "exchange"), a.GetString(2, "request"), ReadAll(a.Get<ITypedArray<byte>>(3, "body"))));
        Set(engine, "appReady", 0, (bool _, in V8FastArgs _, in V8FastResult _) => host.AppReady());
        Set(engine, "packageList", 0, (bool _, in V8FastArgs _, in V8FastResult r) => r.Set(PackageListJson()));
        Set(engine, "packageRead", 2, (bool _, in V8FastArgs a, in V8FastResult _) =>
        {
            var path = a.GetString(0, "path");
            var target = a.Get<ITypedArray<byte>>(1, "destination");
            var data = package()?.Get(path) ?? throw new InvalidOperationException($"package has no file {path}");
            target.Write(data, 0, (ulong)Math.Min((ulong)data.Length, target.Length), 0);
        });
    }

    /// <summary>Largest body that crosses as a binary string (js/binary.js STRING_CROSSING_MAX).</summary>
    private const int MaxStringCrossing = 64 * 1024;

    /// <summary>Largest response body a worker sends; beyond it the app gets its 500 page.</summary>
    private const ulong MaxBodyBytes = 1UL << 30;

    private static byte[] ReadAll(ITypedArray<byte> array)
    {
        if (array.Length > MaxBodyBytes) throw new ArgumentException($"response body of {array.Length} bytes exceeds the 1 GiB limit");
        var bytes = new byte[array.Length];
        if (bytes.Length > 0) array.Read(0, (ulong)bytes.Length, bytes, 0);
        return bytes;
    }

    private string PackageListJson()
    {
        var sb = new StringBuilder("[");
        var first = true;
        if (package() is { } p)
        {
            foreach (var (path, data) in p.Files)
            {
                if (!first) sb.Append(',');
                first = false;
                sb.Append('[').Append(System.Text.Json.JsonSerializer.Serialize(path, RuntimeJson.Default.String)).Append(',').Append(data.Length).Append(']');
            }
        }
        return sb.Append(']').ToString();
    }

    private static void Set(V8ScriptEngine engine, string name, int requiredArgs, V8FastHostFunctionInvoker invoker) =>
        engine.Global.SetProperty("__bb_" + name, new V8FastHostFunction(name, requiredArgs, invoker));
}
