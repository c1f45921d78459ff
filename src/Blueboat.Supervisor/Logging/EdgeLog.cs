using System.Text;
using System.Text.Json;
using Blueboat.Channel;

namespace Blueboat.Supervisor.Logging;

/// <summary>
/// The supervisor's log: one JSON object per line on stdout, for journald and log shippers.
/// App records (console.* in app code) carry the app, its version and the request id.
/// When stdout is journald's stream, each line starts with its syslog priority (`&lt;3&gt;` error,
/// `&lt;4&gt;` warning, `&lt;6&gt;` info, `&lt;7&gt;` debug), which journald takes as the record's
/// PRIORITY and strips, so the stored message is still the bare JSON object; anywhere else the
/// lines are plain JSON.
/// </summary>
public sealed class EdgeLog(TextWriter output, bool syslogPriorityPrefix = false)
{
    private readonly Lock gate = new();

    public static EdgeLog Console() => new(new StreamWriter(System.Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true },
        StdoutIsJournal(Environment.GetEnvironmentVariable("JOURNAL_STREAM")));

    /// <summary>
    /// systemd sets $JOURNAL_STREAM to "DEVICE:INODE" of the journal socket it gave as stdout/stderr;
    /// stdout is that stream when its inode matches (a shell redirect in between changes it).
    /// </summary>
    public static bool StdoutIsJournal(string? journalStream)
    {
        if (string.IsNullOrEmpty(journalStream) || journalStream.Split(':') is not [_, var inode]) return false;
        try
        {
            var target = new FileInfo("/proc/self/fd/1").LinkTarget; // "socket:[INODE]"
            return target == $"socket:[{inode}]";
        }
        catch (IOException) { return false; }
    }

    private static string Priority(string level) => level switch
    {
        "error" => "<3>",
        "warn" => "<4>",
        "debug" => "<7>",
        _ => "<6>",
    };

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
        if (syslogPriorityPrefix) line = Priority(level) + line;
        lock (gate) output.WriteLine(line);
    }
}
