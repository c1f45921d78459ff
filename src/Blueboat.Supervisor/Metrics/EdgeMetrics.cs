using System.Collections.Concurrent;
using System.Diagnostics;

namespace Blueboat.Supervisor.Metrics;

/// <summary>
/// The supervisor's counters, gauges and latency histogram, updated lock-free on the request path
/// and written as Prometheus text by <see cref="PrometheusText"/> on the admin listener's /metrics.
/// </summary>
public sealed class EdgeMetrics
{
    /// <summary>Latency bucket bounds in seconds: 1 ms to 10 s, the range of an edge request.</summary>
    public static readonly double[] LatencyBounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    internal sealed class Cell
    {
        public long Value;
    }

    internal sealed class Histogram
    {
        public readonly long[] Buckets = new long[LatencyBounds.Length]; // not cumulative; summed when written
        public long Count;
        public long SumMicroseconds;

        public void Observe(TimeSpan elapsed)
        {
            var seconds = elapsed.TotalSeconds;
            var i = 0;
            while (i < LatencyBounds.Length && seconds > LatencyBounds[i]) i++;
            if (i < LatencyBounds.Length) Interlocked.Increment(ref Buckets[i]);
            Interlocked.Add(ref SumMicroseconds, (long)(elapsed.Ticks / 10));
            Interlocked.Increment(ref Count);
        }
    }

    internal readonly ConcurrentDictionary<(string App, int Status), Cell> Requests = new();
    internal readonly ConcurrentDictionary<string, Histogram> Latency = new();
    internal readonly ConcurrentDictionary<string, Cell> Restarts = new();
    internal readonly ConcurrentDictionary<string, Cell> Kills = new();
    internal readonly ConcurrentDictionary<string, Cell> ColdStarts = new();
    internal long WorkersAlive;
    internal long InFlight;

    /// <summary>Requests being handled right now.</summary>
    public long InFlightRequests => Volatile.Read(ref InFlight);
    internal long BytesIn;
    internal long BytesOut;

    /// <summary>One HTTP request from arrival to its answer; <see cref="App"/> is set once it is routed.</summary>
    public sealed class Tally
    {
        internal readonly long Started = Stopwatch.GetTimestamp();
        public string App { get; set; } = "";
        public long BytesIn { get; set; }
    }

    public Tally RequestStarted()
    {
        Interlocked.Increment(ref InFlight);
        return new Tally();
    }

    public void RequestFinished(Tally tally, int status, long bytesOut)
    {
        Interlocked.Decrement(ref InFlight);
        Interlocked.Increment(ref Requests.GetOrAdd((tally.App, status), _ => new Cell()).Value);
        Latency.GetOrAdd(tally.App, _ => new Histogram()).Observe(Stopwatch.GetElapsedTime(tally.Started));
        Interlocked.Add(ref BytesIn, tally.BytesIn);
        Interlocked.Add(ref BytesOut, bytesOut);
    }

    /// <summary>A worker came up for an app (a request waited for it, or will).</summary>
    public void WorkerStarted(string app)
    {
        Interlocked.Increment(ref WorkersAlive);
        Interlocked.Increment(ref ColdStarts.GetOrAdd(app, _ => new Cell()).Value);
    }

    /// <summary>A worker that was up is gone; <paramref name="unexpected"/>: it died (and will be replaced), with <paramref name="how"/>.</summary>
    public void WorkerEnded(bool unexpected, string how)
    {
        Interlocked.Decrement(ref WorkersAlive);
        if (unexpected) Interlocked.Increment(ref Restarts.GetOrAdd(how, _ => new Cell()).Value);
    }

    /// <summary>The supervisor stopped or killed a worker on purpose.</summary>
    public void WorkerKilled(string reason) => Interlocked.Increment(ref Kills.GetOrAdd(reason, _ => new Cell()).Value);
}
