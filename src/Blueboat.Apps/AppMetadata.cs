using System.Text.Json;

namespace Blueboat.Apps;

/// <summary>
/// An app's metadata.json, as Blueboat defines it: <c>version</c> and <c>package</c> are required,
/// <c>env</c> maps names to strings, and unknown fields are ignored.
/// </summary>
public sealed record AppMetadata(string Version, string Package, IReadOnlyDictionary<string, string> Env, AppLimitOverrides? Limits = null)
{
    public static AppMetadata Parse(ReadOnlySpan<byte> json, string source)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (json.StartsWith(bom)) json = json[3..]; // some editors write a byte order mark
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            return FromJson(doc, source);
        }
        catch (JsonException e)
        {
            throw new AppLoadException($"{source}: metadata is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // invalid UTF-8, or escapes that are not well-formed UTF-16 (a lone surrogate)
            throw new AppLoadException($"{source}: metadata is not valid JSON text: {e.Message}", e);
        }
    }

    private static AppMetadata FromJson(JsonDocument doc, string source)
    {
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new AppLoadException($"{source}: metadata must be a JSON object");

        var version = RequiredString(root, "version", source);
        var package = RequiredString(root, "package", source);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("env", out var envElement) && envElement.ValueKind != JsonValueKind.Null)
        {
            if (envElement.ValueKind != JsonValueKind.Object)
                throw new AppLoadException($"{source}: \"env\" must be an object of strings");
            foreach (var p in envElement.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new AppLoadException($"{source}: env.{p.Name} must be a string");
                env[p.Name] = p.Value.GetString()!;
            }
        }
        return new AppMetadata(version, package, env, ParseLimits(root, source));
    }

    /// <summary>The largest body size an app's metadata may set: 1 GiB, as the server's flags.</summary>
    public const int MaxBodyBytes = 1 << 30;

    /// <summary>
    /// The optional "limits" object: {"cpu_ms", "wall_ms", "heap_mb", "max_concurrent_requests",
    /// "max_request_body", "max_response_body"} (the body sizes in bytes).
    /// </summary>
    private static AppLimitOverrides? ParseLimits(JsonElement root, string source)
    {
        if (!root.TryGetProperty("limits", out var l) || l.ValueKind == JsonValueKind.Null) return null;
        if (l.ValueKind != JsonValueKind.Object) throw new AppLoadException($"{source}: \"limits\" must be an object");
        int? Get(string name, int min, int max)
        {
            if (!l.TryGetProperty(name, out var v)) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < min || n > max)
                throw new AppLoadException($"{source}: limits.{name} must be a whole number from {min} to {max}");
            return n;
        }
        return new AppLimitOverrides(Get("cpu_ms", 1, 600_000), Get("wall_ms", 1, 3_600_000), Get("heap_mb", 16, 16_384), Get("max_concurrent_requests", 1, 100_000))
        {
            MaxRequestBody = Get("max_request_body", 0, MaxBodyBytes),
            MaxResponseBody = Get("max_response_body", 0, MaxBodyBytes),
        };
    }

    /// <summary>Blueboat's metadata.json form: version, package, env (and limits when set).</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("version", Version);
            w.WriteString("package", Package);
            w.WriteStartObject("env");
            foreach (var (k, v) in Env.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
            if (Limits is { } l)
            {
                w.WriteStartObject("limits");
                if (l.CpuMs is { } cpu) w.WriteNumber("cpu_ms", cpu);
                if (l.WallMs is { } wall) w.WriteNumber("wall_ms", wall);
                if (l.HeapMb is { } heap) w.WriteNumber("heap_mb", heap);
                if (l.MaxConcurrentRequests is { } max) w.WriteNumber("max_concurrent_requests", max);
                if (l.MaxRequestBody is { } request) w.WriteNumber("max_request_body", request);
                if (l.MaxResponseBody is { } response) w.WriteNumber("max_response_body", response);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static AppMetadata Load(string path)
    {
        byte[] bytes;
        try
        {
            if (File.Exists(path) && !FileType.IsRegular(path))
                throw new AppLoadException($"{path}: metadata is not a regular file");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AppLoadException($"{path}: cannot read metadata: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    private static string RequiredString(JsonElement root, string name, string source)
    {
        if (!root.TryGetProperty(name, out var value))
            throw new AppLoadException($"{source}: metadata lacks \"{name}\"");
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } s)
            throw new AppLoadException($"{source}: \"{name}\" must be a non-empty string");
        return s;
    }
}

/// <summary>Limits an app's metadata may set for itself, each overriding the server's flag.</summary>
public sealed record AppLimitOverrides(int? CpuMs, int? WallMs, int? HeapMb, int? MaxConcurrentRequests)
{
    /// <summary>Request body size in bytes (413 past it).</summary>
    public int? MaxRequestBody { get; init; }

    /// <summary>Response body size in bytes (502 past it).</summary>
    public int? MaxResponseBody { get; init; }
}
