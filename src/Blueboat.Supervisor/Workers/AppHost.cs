using Blueboat.Apps;
using Blueboat.Supervisor.Logging;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// Keeps one app version running in a worker: starts it on first use, shares that start among
/// concurrent first requests, and replaces a worker that died on the next request. A failed start
/// is remembered briefly so a broken app cannot make every request fork a new process.
/// </summary>
public sealed class AppHost(AppBundle app, WorkerServices services, AppLimits limits) : IDisposable
{
    private readonly EdgeLog log = services.Log;

    /// <summary>How long a failed start answers for the app before the next attempt.</summary>
    public static readonly TimeSpan FailedStartRetry = TimeSpan.FromSeconds(1);

    private readonly Lock gate = new();
    private Task<WorkerProcess>? current;
    private DateTime failedAt;
    private int inFlight;
    private long lastUsedTicks = DateTime.UtcNow.Ticks;

    public AppBundle App => app;

    public AppLimits Limits => limits;

    /// <summary>Requests being handled by this app version right now.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    public DateTime LastUsed => new(Interlocked.Read(ref lastUsedTicks), DateTimeKind.Utc);

    /// <summary>Marks one request in flight until the lease is disposed (retirement waits for none).</summary>
    public Lease Enter()
    {
        Interlocked.Increment(ref inFlight);
        Interlocked.Exchange(ref lastUsedTicks, DateTime.UtcNow.Ticks);
        return new Lease(this);
    }

    public readonly struct Lease(AppHost host) : IDisposable
    {
        public void Dispose()
        {
            if (host is null) return;
            Interlocked.Exchange(ref host.lastUsedTicks, DateTime.UtcNow.Ticks);
            Interlocked.Decrement(ref host.inFlight);
        }
    }

    /// <summary>Stops this version's worker (idle eviction or retirement); a later request starts a new one.</summary>
    public void StopWorker(string reason)
    {
        WorkerProcess? worker;
        lock (gate)
        {
            worker = CurrentWorker;
            current = null;
        }
        if (worker is null) return;
        log.Info("stopping worker", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid), ("reason", reason));
        worker.Stop();
    }

    public WorkerProcess? CurrentWorker =>
        current is { IsCompletedSuccessfully: true } t ? t.Result : null;

    public Task<WorkerProcess> GetWorkerAsync()
    {
        lock (gate)
        {
            if (current is null
                || (current.IsCompletedSuccessfully && !current.Result.IsAlive)
                || (current.IsFaulted && DateTime.UtcNow - failedAt >= FailedStartRetry))
            {
                current = StartAsync();
            }
            return current;
        }
    }

    private async Task<WorkerProcess> StartAsync()
    {
        WorkerProcess? worker = null;
        var started = DateTime.UtcNow;
        try
        {
            worker = await WorkerProcess.StartAsync(services, app).ConfigureAwait(false);
            await worker.LoadAsync(app, limits).ConfigureAwait(false);
            log.Info("worker ready", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid),
                ("start_ms", Math.Round((DateTime.UtcNow - started).TotalMilliseconds, 2)));
            _ = WatchAsync(worker);
            return worker;
        }
        catch (Exception e)
        {
            worker?.Kill();
            lock (gate) failedAt = DateTime.UtcNow;
            log.Error("app failed to start", ("app", app.Name), ("version", app.Version), ("pid", worker?.Pid), ("error", e.Message));
            throw e as AppInitException ?? new AppInitException(e.Message);
        }
    }

    private async Task WatchAsync(WorkerProcess worker)
    {
        var how = await worker.Exited.ConfigureAwait(false);
        if (worker.Stopping)
            log.Info("worker stopped", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid), ("requests_served", worker.RequestsServed));
        else
            log.Warn("worker exited", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid), ("how", how),
                ("requests_served", worker.RequestsServed));
    }

    public void Dispose()
    {
        CurrentWorker?.Kill();
    }
}

/// <summary>The limits every app runs under: load time, CPU per request, V8 heap, wall time per request.</summary>
public sealed record AppLimits(TimeSpan InitBudget, Channel.WorkerLimits Worker, TimeSpan WallPerRequest)
{
    public static readonly AppLimits Default = new(TimeSpan.FromSeconds(3), Channel.WorkerLimits.Default, TimeSpan.FromSeconds(60));
}

/// <summary>What every worker of this supervisor shares: how to start one, the log, and the fetch proxy.</summary>
public sealed record WorkerServices(WorkerLauncher Launcher, EdgeLog Log, Outbound.FetchProxy Fetch);
