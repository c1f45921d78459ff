using System.Globalization;
using System.Text;
using System.Text.Json;
using Blueboat.Channel;

namespace Blueboat.Runtime.Glue;

/// <summary>
/// The event descriptions the worker hands the runtime's dispatcher (js/app/dispatch.js) as its argument:
/// requests, timers and abandons as text fields, fetch results (and requests the text form cannot
/// carry) as JSON.
/// </summary>
public static class RuntimeEvents
{
    public const int Request = 1;
    public const int Timer = 2;
    public const int Abandon = 3;
    public const int FetchDone = 4;

    /// <summary>
    /// Separates the fields of the text form of events and of the response header lines: none of
    /// them can hold it (Kestrel refuses CR, LF and NUL in targets, header names and values; the
    /// supervisor's request ids are visible ASCII; the runtime's Headers refuse LF in values).
    /// </summary>
    public const char Separator = '\n';

    [ThreadStatic] private static StringBuilder? textBuilder;

    /// <summary>
    /// A request as the fields "1, id, body length, request id, method, url, then each header's name
    /// and value", joined by <see cref="Separator"/> (dispatch.js splits it; JSON cost several
    /// microseconds a request each way). A field holding the separator would be mis-split: such a
    /// request goes as JSON instead, which the dispatcher tells apart by its leading "{".
    /// </summary>
    public static string ForRequest(uint exchangeId, RequestHead head, int bodyLength)
    {
        if (!CanSplit(head)) return ForRequestJson(exchangeId, head, bodyLength);
        var text = textBuilder ??= new StringBuilder(1024);
        text.Clear();
        text.Append(Request).Append(Separator).Append(exchangeId).Append(Separator).Append(bodyLength)
            .Append(Separator).Append(head.RequestId).Append(Separator).Append(head.Method).Append(Separator).Append(head.Url);
        foreach (var (name, value) in head.Headers) text.Append(Separator).Append(name).Append(Separator).Append(value);
        return text.ToString();
    }

    private static bool CanSplit(RequestHead head)
    {
        if (head.RequestId.Contains(Separator) || head.Method.Contains(Separator) || head.Url.Contains(Separator)) return false;
        foreach (var (name, value) in head.Headers)
            if (name.Contains(Separator) || value.Contains(Separator)) return false;
        return true;
    }

    /// <summary>The same fields as JSON, the headers as one flat [name, value, ...] array.</summary>
    private static string ForRequestJson(uint exchangeId, RequestHead head, int bodyLength)
    {
        using var buffer = new MemoryStream(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("kind", Request);
            json.WriteNumber("id", exchangeId);
            json.WriteNumber("bodyLength", bodyLength);
            json.WriteString("requestId", head.RequestId);
            json.WriteString("method", head.Method);
            json.WriteString("url", head.Url);
            json.WriteStartArray("headers");
            foreach (var (name, value) in head.Headers)
            {
                json.WriteStringValue(name);
                json.WriteStringValue(value);
            }
            json.WriteEndArray();
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

    public static string ForTimer(int timerId) => string.Create(CultureInfo.InvariantCulture, $"{Timer}{Separator}{timerId}");

    /// <summary>The exchange can no longer be answered by its handler: the runtime answers it with the 500 page.</summary>
    public static string ForAbandon(uint exchangeId) => string.Create(CultureInfo.InvariantCulture, $"{Abandon}{Separator}{exchangeId}");

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

    /// <summary>
    /// Reads the header lines the dispatcher passes to `respond`: names and values alternating,
    /// joined by <see cref="Separator"/> ("" for none). Malformed input throws ArgumentException,
    /// which reaches JS as an exception (the runtime then answers with its 500 page).
    /// </summary>
    public static List<KeyValuePair<string, string>> ParseHeaderLines(string lines)
    {
        var headers = new List<KeyValuePair<string, string>>();
        var rest = lines.AsSpan();
        while (rest.Length > 0)
        {
            var nameEnd = rest.IndexOf(Separator);
            if (nameEnd <= 0) throw new ArgumentException(nameEnd == 0 ? "a response header has an empty name" : "a response header name has no value");
            var name = rest[..nameEnd].ToString();
            rest = rest[(nameEnd + 1)..];
            var valueEnd = rest.IndexOf(Separator);
            if (valueEnd < 0)
            {
                headers.Add(new(name, rest.ToString()));
                break;
            }
            headers.Add(new(name, rest[..valueEnd].ToString()));
            rest = rest[(valueEnd + 1)..];
            if (rest.Length == 0) throw new ArgumentException("the response header lines end with a separator");
        }
        return headers;
    }
}
