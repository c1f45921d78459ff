using System.Text;
using Blueboat.Apps;
using Blueboat.Channel;
using Blueboat.Runtime.Glue;

namespace Blueboat.Tests.Runtime;

/// <summary>
/// Runs the JS runtime layer in-process (JIT) with a host that records what JS asks for, so the
/// runtime's own logic (Router, Headers, encoders) can be tested directly. Timers fire when the
/// test drains them, in due order.
/// </summary>
public sealed class RuntimeHarness : IRuntimeHost, IDisposable
{
    private readonly JsEngine engine;
    private readonly Dictionary<uint, Response> responses = new();
    private readonly SortedDictionary<(double Due, int Id), int> timers = new();
    private byte[] body = [];
    private uint nextExchange;
    private double clock;

    public List<(LogLevel Level, string RequestId, string Message)> Logs { get; } = new();

    public sealed record Response(int Status, List<KeyValuePair<string, string>> Headers, byte[] Body)
    {
        public string Text => Encoding.UTF8.GetString(Body);
        public string? Header(string name) => Headers.FirstOrDefault(h => h.Key == name).Value;
    }

    /// <summary>What V8 made of the code cache the harness was given.</summary>
    public CodeCacheOutcome CodeCache { get; }

    /// <summary>The V8 code cache of the modules loaded so far.</summary>
    public List<ModuleCodeCache> ProduceCodeCache() => engine.ProduceCodeCache();

    public RuntimeHarness(string entryCode, Dictionary<string, string>? env = null, Dictionary<string, string>? moreFiles = null, string entryName = "index.mjs", IReadOnlyList<ModuleCodeCache>? codeCache = null)
    {
        engine = new JsEngine(this);
        var files = new Dictionary<string, byte[]> { [entryName] = Encoding.UTF8.GetBytes(entryCode) };
        foreach (var (k, v) in moreFiles ?? new()) files[k] = Encoding.UTF8.GetBytes(v);
        var envJson = System.Text.Json.JsonSerializer.Serialize(env ?? new Dictionary<string, string>());
        CodeCache = engine.LoadApp(new AppPackage(files), entryName, envJson, codeCache);
    }

    public Response Send(string method, string path, IEnumerable<KeyValuePair<string, string>>? headers = null, byte[]? requestBody = null, string host = "example.com")
    {
        var id = ++nextExchange;
        var list = new List<KeyValuePair<string, string>> { new("host", host) };
        if (headers is not null) list.AddRange(headers);
        var head = new RequestHead(method, $"https://{host}{path}", $"req-{id}", "127.0.0.1", list);
        body = requestBody ?? [];
        engine.Dispatch(RuntimeEvents.ForRequest(id, head, body.Length));
        while (!responses.ContainsKey(id) && timers.Count > 0) FireNextTimer();
        return responses.TryGetValue(id, out var r) ? r : throw new InvalidOperationException("the app never answered");
    }

    public Response Get(string path) => Send("GET", path);

    private void FireNextTimer()
    {
        var (key, id) = timers.First();
        timers.Remove(key);
        clock = Math.Max(clock, key.Due);
        engine.Dispatch(RuntimeEvents.ForTimer(id));
    }

    public void CopyEventBody(Span<byte> destination) => body.AsSpan(0, Math.Min(body.Length, destination.Length)).CopyTo(destination);
    public void Respond(uint exchangeId, int status, string headerLines, ReadOnlySpan<byte> responseBody) =>
        responses.TryAdd(exchangeId, new Response(status, RuntimeEvents.ParseHeaderLines(headerLines), responseBody.ToArray()));
    public void Log(LogLevel level, string requestId, string message) => Logs.Add((level, requestId, message));
    public void SetTimer(int timerId, double delayMs, uint exchangeId)
    {
        ClearTimer(timerId);
        timers[(clock + delayMs, timerId)] = timerId;
    }
    public void ClearTimer(int timerId)
    {
        foreach (var key in timers.Keys.Where(k => k.Id == timerId).ToList()) timers.Remove(key);
    }

    public void AppReady() { }

    public List<string> Fetches { get; } = new();

    public void FetchStart(int fetchId, uint exchangeId, string requestJson, ReadOnlySpan<byte> body) => Fetches.Add(requestJson);

    public void Dispose() => engine.Dispose();
}
