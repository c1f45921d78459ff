using System.Text;
using System.Text.Json;
using Blueboat.Channel;

namespace Blueboat.Runtime.Glue;

/// <summary>The event descriptions the runtime's dispatcher (js/app/dispatch.js) reads through `__bb_event`.</summary>
public static class RuntimeEvents
{
    public const int Request = 1;
    public const int Timer = 2;
    public const int Abandon = 3;
    public const int FetchDone = 4;

    public static string ForRequest(uint exchangeId, RequestHead head, int bodyLength)
    {
        using var buffer = new MemoryStream(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("kind", Request);
            json.WriteNumber("id", exchangeId);
            json.WriteString("requestId", head.RequestId);
            json.WriteString("method", head.Method);
            json.WriteString("url", head.Url);
            json.WriteString("clientIp", head.ClientIp);
            WriteHeaders(json, head.Headers);
            json.WriteNumber("bodyLength", bodyLength);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteHeaders(Utf8JsonWriter json, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        json.WriteStartArray("headers");
        foreach (var (name, value) in headers)
        {
            json.WriteStartArray();
            json.WriteStringValue(name);
            json.WriteStringValue(value);
            json.WriteEndArray();
        }
        json.WriteEndArray();
    }

    public static string ForTimer(int timerId) => $"{{\"kind\":{Timer},\"id\":{timerId}}}";

    /// <summary>The exchange can no longer be answered by its handler: the runtime answers it with the 500 page.</summary>
    public static string ForAbandon(uint exchangeId) => $"{{\"kind\":{Abandon},\"id\":{exchangeId}}}";

    /// <summary>A fetch finished: its response head (the body is read through eventBody) or its error.</summary>
    public static string ForFetch(int fetchId, FetchResponse r)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("kind", FetchDone);
            json.WriteNumber("id", fetchId);
            if (r.Error is not null) json.WriteString("error", r.Error);
            json.WriteNumber("status", r.Status);
            json.WriteString("statusText", r.StatusText);
            json.WriteString("url", r.Url);
            json.WriteBoolean("redirected", r.Redirected);
            WriteHeaders(json, r.Headers);
            json.WriteNumber("bodyLength", r.Body.Length);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads a fetch request the runtime describes as JSON: {method, url, redirect, headers: [[n, v]]}.</summary>
    public static FetchRequest ParseFetch(uint exchangeId, string json, byte[] body)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var pair in root.GetProperty("headers").EnumerateArray())
            headers.Add(new(pair[0].GetString()!, pair[1].GetString()!));
        return new FetchRequest(exchangeId, root.GetProperty("method").GetString()!, root.GetProperty("url").GetString()!,
            root.GetProperty("redirect").GetString()!, headers, body);
    }

    /// <summary>Reads the header lines the dispatcher passes to `respond` as JSON pairs.</summary>
    public static List<KeyValuePair<string, string>> ParseHeaderLines(string json)
    {
        var lines = JsonSerializer.Deserialize(json, RuntimeJson.Default.ListListString) ?? [];
        var headers = new List<KeyValuePair<string, string>>(lines.Count);
        foreach (var line in lines)
            if (line.Count == 2) headers.Add(new(line[0], line[1]));
        return headers;
    }
}
