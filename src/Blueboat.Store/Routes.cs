using System.Text.Json;

namespace Blueboat.Store;

/// <summary>
/// Host routes: an exact host, or `*.suffix` for every host under suffix, to a metadata key.
/// Stored as the `routes.json` object: {"hosts": {"a.example.com": "apps/a/metadata.json"}}.
/// </summary>
public sealed class Routes
{
    private readonly SortedDictionary<string, string> hosts;

    public Routes(IDictionary<string, string>? hosts = null) =>
        this.hosts = new SortedDictionary<string, string>(hosts ?? new Dictionary<string, string>(), StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Hosts => hosts;

    /// <summary>Lower-cases a Host header and drops its port: "App.Example.com:8443" -> "app.example.com".</summary>
    public static string NormalizeHost(string host)
    {
        var h = host.Trim().ToLowerInvariant();
        if (h.StartsWith('['))
        {
            var close = h.IndexOf(']');
            return close > 0 ? h[..(close + 1)] : h;
        }
        var colon = h.LastIndexOf(':');
        return (colon >= 0 ? h[..colon] : h).TrimEnd('.');
    }

    public static void ValidatePattern(string pattern)
    {
        var host = pattern.StartsWith("*.", StringComparison.Ordinal) ? pattern[2..] : pattern;
        if (host.Length == 0 || host.Length > 253 || host.Split('.').Any(l => l.Length == 0 || l.Length > 63 || !l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
            throw new StoreException($"\"{pattern}\" is not a host name or *.suffix pattern");
        if (pattern != pattern.ToLowerInvariant())
            throw new StoreException($"host \"{pattern}\" must be lower case");
    }

    /// <summary>The metadata key for a request's Host: an exact route first, then the longest matching `*.suffix`.</summary>
    public string? Resolve(string host)
    {
        var h = NormalizeHost(host);
        if (h.Length == 0) return null;
        if (hosts.TryGetValue(h, out var exact)) return exact;
        for (var dot = h.IndexOf('.'); dot >= 0; dot = h.IndexOf('.', dot + 1))
            if (hosts.TryGetValue("*" + h[dot..], out var wildcard)) return wildcard;
        return null;
    }

    public Routes With(string host, string metadataKey)
    {
        var copy = new Dictionary<string, string>(hosts) { [host] = metadataKey };
        return new Routes(copy);
    }

    public Routes Without(string host) =>
        new(hosts.Where(kv => kv.Key != host).ToDictionary(kv => kv.Key, kv => kv.Value));

    public Routes WithoutTarget(string metadataKey) =>
        new(hosts.Where(kv => kv.Value != metadataKey).ToDictionary(kv => kv.Key, kv => kv.Value));

    public static Routes Parse(byte[] json, string source)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("hosts", out var h) || h.ValueKind != JsonValueKind.Object)
                throw new StoreException($"{source}: routes must be an object with a \"hosts\" object");
            foreach (var p in h.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new StoreException($"{source}: route for {p.Name} must be a metadata key string");
                map[p.Name.ToLowerInvariant()] = p.Value.GetString()!;
            }
            return new Routes(map);
        }
        catch (JsonException e)
        {
            throw new StoreException($"{source}: routes are not valid JSON: {e.Message}", e);
        }
    }

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("hosts");
            foreach (var (host, key) in hosts) w.WriteString(host, key);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
