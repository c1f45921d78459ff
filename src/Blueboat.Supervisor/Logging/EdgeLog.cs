using System.Text;
using System.Text.Json;
using Blueboat.Channel;

namespace Blueboat.Supervisor.Logging;

/// <summary>
/// The supervisor's log: one JSON object per line on stdout, for journald and log shippers.
/// App records (console.* in app code) carry the app, its version and the request id.
/// </summary>
public sealed class EdgeLog(TextWriter output)
{
    private readonly Lock gate = new();

    public static EdgeLog Console() => new(new StreamWriter(System.Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true });

    public void Info(string message, params (string Key, object? Value)[] fields) => Write("info", message, null, fields);
    public void Warn(string message, params (string Key, object? Value)[] fields) => Write("warn", message, null, fields);
    public void Error(string message, params (string Key, object? Value)[] fields) => Write("error", message, null, fields);

    public void App(string app, string version, LogRecord record) =>
        Write(LevelName(record.Level), record.Message, "app", [("app", app), ("version", version), ("request_id", record.RequestId)]);

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Debug => "debug",
        LogLevel.Info => "info",
        LogLevel.Warn => "warn",
        _ => "error",
    };

    private void Write(string level, string message, string? source, (string Key, object? Value)[] fields)
    {
        var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("ts", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'"));
            json.WriteString("level", level);
            json.WriteString("source", source ?? "supervisor");
            foreach (var (key, value) in fields)
            {
                switch (value)
                {
                    case null: json.WriteNull(key); break;
                    case int i: json.WriteNumber(key, i); break;
                    case long l: json.WriteNumber(key, l); break;
                    case double d: json.WriteNumber(key, d); break;
                    case bool b: json.WriteBoolean(key, b); break;
                    default: json.WriteString(key, value.ToString()); break;
                }
            }
            json.WriteString("msg", message);
            json.WriteEndObject();
        }
        var line = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        lock (gate) output.WriteLine(line);
    }
}
