using System.Globalization;
using System.Text;

namespace Blueboat.Supervisor.Metrics;

/// <summary>
/// Writes <see cref="EdgeMetrics"/> in the Prometheus text exposition format (version 0.0.4).
/// The format is a few lines of text, so it is written here: the client libraries on NuGet are
/// either not annotated as trim/AOT-safe (prometheus-net) or prerelease and tied to their own
/// hosting (the OpenTelemetry exporter).
/// </summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <param name="poolIdle">Pre-started workers waiting for an app, when the server has a pool.</param>
    public static string Write(EdgeMetrics m, int? poolIdle = null)
    {
        var s = new StringBuilder(4096);
        Header(s, "blueboat_requests_total", "counter", "HTTP requests answered, by app (empty: no app was routed) and status.");
        foreach (var ((app, status), cell) in m.Requests.OrderBy(kv => kv.Key.App, StringComparer.Ordinal).ThenBy(kv => kv.Key.Status))
            Sample(s, "blueboat_requests_total", $"app=\"{Escape(app)}\",status=\"{status}\"", Volatile.Read(ref cell.Value));

        Header(s, "blueboat_request_duration_seconds", "histogram", "Time from a request's arrival to its answer, by app.");
        foreach (var (app, h) in m.Latency.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var label = $"app=\"{Escape(app)}\"";
            long cumulative = 0;
            for (var i = 0; i < EdgeMetrics.LatencyBounds.Length; i++)
            {
                cumulative += Volatile.Read(ref h.Buckets[i]);
                Sample(s, "blueboat_request_duration_seconds_bucket", $"{label},le=\"{Number(EdgeMetrics.LatencyBounds[i])}\"", cumulative);
            }
            var count = Volatile.Read(ref h.Count);
            Sample(s, "blueboat_request_duration_seconds_bucket", $"{label},le=\"+Inf\"", Math.Max(count, cumulative));
            s.Append("blueboat_request_duration_seconds_sum{").Append(label).Append("} ")
             .Append(Number(Volatile.Read(ref h.SumMicroseconds) / 1e6)).Append('\n');
            Sample(s, "blueboat_request_duration_seconds_count", label, Math.Max(count, cumulative));
        }

        Header(s, "blueboat_requests_in_flight", "gauge", "HTTP requests being handled right now.");
        Sample(s, "blueboat_requests_in_flight", null, Volatile.Read(ref m.InFlight));
        Header(s, "blueboat_workers_alive", "gauge", "Worker processes serving an app (pre-started pool workers are counted apart).");
        Sample(s, "blueboat_workers_alive", null, Volatile.Read(ref m.WorkersAlive));
        if (poolIdle is { } pooled)
        {
            Header(s, "blueboat_pool_workers_idle", "gauge", "Pre-started workers bound to no app yet, ready for an app's first request.");
            Sample(s, "blueboat_pool_workers_idle", null, pooled);
        }
        Labelled(s, "blueboat_worker_restarts_total", "Workers that died unexpectedly (and are replaced on the next request), by how they ended.", "reason", m.Restarts);
        Labelled(s, "blueboat_worker_kills_total", "Workers the supervisor stopped on purpose, by reason.", "reason", m.Kills);
        Labelled(s, "blueboat_cold_starts_total", "Workers started for an app (process start and app load), by app.", "app", m.ColdStarts);
        Header(s, "blueboat_request_body_bytes_total", "counter", "Request body bytes received.");
        Sample(s, "blueboat_request_body_bytes_total", null, Volatile.Read(ref m.BytesIn));
        Header(s, "blueboat_response_body_bytes_total", "counter", "Response body bytes sent.");
        Sample(s, "blueboat_response_body_bytes_total", null, Volatile.Read(ref m.BytesOut));
        return s.ToString();
    }

    private static void Labelled(StringBuilder s, string name, string help, string label, System.Collections.Concurrent.ConcurrentDictionary<string, EdgeMetrics.Cell> cells)
    {
        Header(s, name, "counter", help);
        foreach (var (value, cell) in cells.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            Sample(s, name, $"{label}=\"{Escape(value)}\"", Volatile.Read(ref cell.Value));
    }

    private static void Header(StringBuilder s, string name, string type, string help) =>
        s.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder s, string name, string? labels, long value)
    {
        s.Append(name);
        if (labels is not null) s.Append('{').Append(labels).Append('}');
        s.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static string Number(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Label values escape backslash, double quote and newline.</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
