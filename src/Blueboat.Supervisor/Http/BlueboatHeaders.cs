namespace Blueboat.Supervisor.Http;

/// <summary>
/// Blueboat's header rules: which incoming x-blueboat-* headers an app may see, how request ids are
/// chosen, and which response headers an app may not set.
/// </summary>
public static class BlueboatHeaders
{
    public const string Prefix = "x-blueboat-";
    public const string RequestId = "x-blueboat-request-id";
    public const string Metadata = "x-blueboat-metadata";
    public const string ClientIp = "x-blueboat-client-ip";
    public const string HandleLatency = "x-blueboat-handle-latency";
    public const string BusyDuration = "x-blueboat-busy-duration";

    /// <summary>True for an incoming header the app must not see: x-blueboat-* outside the three that proxies set.</summary>
    public static bool IsStrippedFromRequest(string name) =>
        name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
        && !name.Equals(RequestId, StringComparison.OrdinalIgnoreCase)
        && !name.Equals(Metadata, StringComparison.OrdinalIgnoreCase)
        && !name.Equals(ClientIp, StringComparison.OrdinalIgnoreCase);

    /// <summary>Headers only a trusted proxy may set: X-Blueboat-Metadata and X-Blueboat-Client-Ip.</summary>
    public static bool IsProxyOnly(string name) =>
        name.Equals(Metadata, StringComparison.OrdinalIgnoreCase) || name.Equals(ClientIp, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Headers an app may not set on its response: the platform's own, and those that steer the
    /// client connection (which carries other requests, possibly to other apps, when pipelined).
    /// </summary>
    public static bool IsStrippedFromResponse(string name) =>
        name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
        || (name.Length <= MaxConnectionHeaderLength && ConnectionHeaders.Contains(name)) // most names are longer: no hashing for them
        || name.StartsWith("proxy-", StringComparison.OrdinalIgnoreCase);

    private const int MaxConnectionHeaderLength = 10; // "connection", the longest of them

    private static readonly HashSet<string> ConnectionHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "keep-alive", "upgrade", "te", "trailer",
    };

    /// <summary>
    /// The incoming id when a proxy gave a usable one (visible ASCII, at most 256 characters, so it
    /// can be echoed in a header and a log), else "u:" and a random UUID, as Blueboat does.
    /// </summary>
    public static string ChooseRequestId(string? incoming) =>
        IsUsableRequestId(incoming) ? incoming! : "u:" + RequestIds.NewUuid();

    private static bool IsUsableRequestId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 256) return false;
        foreach (var c in id)
            if (c is < '!' or > '~') return false;
        return true;
    }

    /// <summary>Milliseconds with two decimals ("12.34"), written digit by digit from whole hundredths (number formatting was the costliest part of the response headers).</summary>
    public static string Milliseconds(TimeSpan t)
    {
        var hundredths = (t.Ticks + (t.Ticks >= 0 ? 50 : -50)) / 100; // 100 ticks = 0.01 ms, rounded half away from zero
        var negative = hundredths < 0;
        var abs = (ulong)Math.Abs(hundredths);
        var whole = abs / 100;
        var wholeDigits = 1;
        for (var w = whole; w >= 10; w /= 10) wholeDigits++;
        return string.Create((negative ? 1 : 0) + wholeDigits + 3, (negative, whole, fraction: (int)(abs % 100)), static (span, v) =>
        {
            var i = span.Length - 1;
            span[i--] = (char)('0' + v.fraction % 10);
            span[i--] = (char)('0' + v.fraction / 10);
            span[i--] = '.';
            var w = v.whole;
            do
            {
                span[i--] = (char)('0' + (int)(w % 10));
                w /= 10;
            } while (w > 0);
            if (v.negative) span[0] = '-';
        });
    }
}
