using System.Text.Json;

namespace Blueboat.Store;

/// <summary>One deployed version of an app, as recorded in its history.</summary>
public sealed record DeployedVersion(string Version, string Package, IReadOnlyDictionary<string, string> Env, IReadOnlyList<string> Hosts, DateTime DeployedAt, string Note);

/// <summary>Every version an app has had, oldest first: `apps/NAME/history.json`.</summary>
public sealed class DeployHistory(IReadOnlyList<DeployedVersion> versions)
{
    public IReadOnlyList<DeployedVersion> Versions { get; } = versions;

    public DeployHistory Append(DeployedVersion v) => new([.. Versions, v]);

    public static DeployHistory Parse(byte[] json, string source)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var list = new List<DeployedVersion>();
            foreach (var e in doc.RootElement.GetProperty("versions").EnumerateArray())
            {
                var env = e.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
                var hosts = e.TryGetProperty("hosts", out var h) ? h.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : [];
                list.Add(new DeployedVersion(e.GetProperty("version").GetString()!, e.GetProperty("package").GetString()!, env, hosts,
                    e.GetProperty("deployed_at").GetDateTime().ToUniversalTime(), e.TryGetProperty("note", out var n) ? n.GetString() ?? "" : ""));
            }
            return new DeployHistory(list);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new StoreException($"{source}: deploy history is unreadable: {e.Message}", e);
        }
    }

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("versions");
            foreach (var v in Versions)
            {
                w.WriteStartObject();
                w.WriteString("version", v.Version);
                w.WriteString("package", v.Package);
                w.WriteStartObject("env");
                foreach (var (k, val) in v.Env.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, val);
                w.WriteEndObject();
                w.WriteStartArray("hosts");
                foreach (var h in v.Hosts) w.WriteStringValue(h);
                w.WriteEndArray();
                w.WriteString("deployed_at", v.DeployedAt.ToUniversalTime().ToString("O"));
                w.WriteString("note", v.Note);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
