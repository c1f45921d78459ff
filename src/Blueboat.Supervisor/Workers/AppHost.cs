using Blueboat.Apps;
using Blueboat.Channel;
using Blueboat.Supervisor.Logging;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// Keeps one app version running in a worker: starts it on first use, shares that start among
/// concurrent first requests, and replaces a worker that died on the next request. Failures in a
/// row (failed starts, workers dying young) back off, doubling up to 30 s, and say so, so a
/// broken or crashing app cannot make every request fork a new process.
/// </summary>
public sealed class AppHost(AppBundle app, WorkerServices services, AppLimits limits) : IDisposable
{
    private readonly EdgeLog log = services.Log;

    /// <summary>What identifies this app version's code (its code cache is kept under it).</summary>
    public string VersionId { get; init; } = $"{app.Name}\n{app.Version}";

    /// <summary>How long a failed start answers for the app before the next attempt.</summary>
    public static readonly TimeSpan FailedStartRetry = TimeSpan.FromSeconds(1);

    private readonly Lock gate = new();
    private Task<WorkerProcess>? current;
    private int failuresInARow;
    private DateTime retryAt;

    /// <summary>A worker that ran this long before dying was not crash-looping.</summary>
    public static readonly TimeSpan HealthyLifetime = TimeSpan.FromSeconds(10);
    private int inFlight;
    private long lastUsedTicks = DateTime.UtcNow.Ticks;

    public AppBundle App => app;

    public AppLimits Limits => limits;

    /// <summary>Requests being handled by this app version right now.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>
    /// Request body bytes on their way to this app at once: a few huge uploads must not push its
    /// worker past its memory limit (and every other request of the app with it).
    /// </summary>
    public Memory.ByteBudget RequestBodies { get; } = new(256L * 1024 * 1024);

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
        services.Metrics.WorkerKilled(reason);
        worker.Stop();
    }

    public WorkerProcess? CurrentWorker =>
        current is { IsCompletedSuccessfully: true } t ? t.Result : null;

    public Task<WorkerProcess> GetWorkerAsync()
    {
        lock (gate)
        {
            var needed = current is null
                || (current.IsCompletedSuccessfully && !current.Result.IsAlive)
                || current.IsFaulted;
            if (!needed) return current!;
            if (DateTime.UtcNow < retryAt)
            {
                if (current is { IsFaulted: true }) return current;
                return Task.FromException<WorkerProcess>(new AppInitException(
                    $"app {app.Name} keeps crashing ({failuresInARow} failures in a row); next start in {(retryAt - DateTime.UtcNow).TotalSeconds:0.0} s"));
            }
            current = StartAsync();
            return current;
        }
    }

    private async Task<WorkerProcess> StartAsync()
    {
        WorkerProcess? worker = null;
        var started = DateTime.UtcNow;
        var preStarted = false;
        try
        {
            AppLoaded loaded;
            try
            {
                (worker, preStarted) = await AcquireAsync().ConfigureAwait(false);
                loaded = await LoadAsync(worker).ConfigureAwait(false);
            }
            catch (WorkerStartException e)
            {
                // The platform's failure, not the app's: one fresh worker before giving up.
                log.Warn("worker failed to come up; starting another", ("app", app.Name), ("version", app.Version), ("pid", worker?.Pid), ("error", e.Message));
                worker?.Kill();
                worker = await StartDedicatedAsync().ConfigureAwait(false);
                preStarted = false;
                loaded = await LoadAsync(worker).ConfigureAwait(false);
            }
            log.Info("worker ready", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid),
                ("start_ms", Math.Round((DateTime.UtcNow - started).TotalMilliseconds, 2)),
                ("load_ms", Math.Round(loaded.InitMicroseconds / 1000.0, 2)),
                ("pre_started", preStarted), ("code_cache", loaded.CodeCache.ToString().ToLowerInvariant()));
            services.Metrics.WorkerStarted(app.Name);
            _ = WatchAsync(worker);
            return worker;
        }
        catch (Exception e)
        {
            if (worker is not null) services.Metrics.WorkerKilled("failed to start");
            worker?.Kill();
            Failed(minimum: FailedStartRetry);
            log.Error("app failed to start", ("app", app.Name), ("version", app.Version), ("pid", worker?.Pid), ("error", e.Message));
            throw e as AppInitException ?? new AppInitException(e.Message);
        }
    }

    /// <summary>A pre-started worker when the pool has one made for this app's heap limit, else a worker of its own.</summary>
    private async Task<(WorkerProcess Worker, bool PreStarted)> AcquireAsync()
    {
        if (services.Pool is { } pool && await pool.TakeAsync(limits.Worker.HeapMb).ConfigureAwait(false) is { } pooled) return (pooled, true);
        return (await StartDedicatedAsync().ConfigureAwait(false), false);
    }

    /// <summary>
    /// A fresh worker with an engine made for this app's heap limit (the pool is empty, or its
    /// engines were made for another limit: V8 fixes the ArrayBuffer cap at engine creation).
    /// The warm-up and the app travel back to back; the worker handles them in order.
    /// </summary>
    private async Task<WorkerProcess> StartDedicatedAsync()
    {
        var worker = await WorkerProcess.StartAsync(services).ConfigureAwait(false);
        worker.BeginWarmUp(limits.Worker.HeapMb, runRequestPath: false);
        return worker;
    }

    private Task<AppLoaded> LoadAsync(WorkerProcess worker)
    {
        if (services.CodeCache is { } cache)
            worker.CodeCacheProduced = modules =>
            {
                cache.Put(VersionId, modules);
                log.Info("code cache kept", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid),
                    ("modules", modules.Count), ("bytes", modules.Sum(m => (long)m.Data.Length)));
            };
        return worker.LoadAsync(app, limits, services.CodeCache?.Get(VersionId) ?? []);
    }

    private async Task WatchAsync(WorkerProcess worker)
    {
        var how = await worker.Exited.ConfigureAwait(false);
        services.Metrics.WorkerEnded(unexpected: !worker.Stopping, how);
        if (worker.Stopping)
        {
            log.Info("worker stopped", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid), ("requests_served", worker.RequestsServed));
            return;
        }
        log.Warn("worker exited", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid), ("how", how),
            ("requests_served", worker.RequestsServed));
        if (DateTime.UtcNow - worker.StartedAt >= HealthyLifetime)
        {
            lock (gate) failuresInARow = 0; // it ran a good while: replace it at once
            return;
        }
        Failed(minimum: TimeSpan.Zero);
    }

    /// <summary>Counts one more failure in a row and sets when the next start may happen.</summary>
    private void Failed(TimeSpan minimum)
    {
        TimeSpan wait;
        int failures;
        lock (gate)
        {
            failures = ++failuresInARow;
            // The first death is replaced at once; from the second in a row, 1 s, 2 s, 4 s ... 30 s.
            var backoff = failures < 2 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, failures - 2)));
            wait = backoff > minimum ? backoff : minimum;
            retryAt = DateTime.UtcNow + wait;
        }
        if (failures >= 2)
            log.Warn("app keeps failing; backing off", ("app", app.Name), ("version", app.Version), ("failures_in_a_row", failures),
                ("next_start_in_s", wait.TotalSeconds));
    }

    /// <summary>Stops the worker and waits (briefly) until it is reaped, so its cgroup is gone too.</summary>
    public void Dispose()
    {
        var worker = CurrentWorker;
        StopWorker("shutting down");
        worker?.Exited.Wait(TimeSpan.FromSeconds(2));
    }
}

/// <summary>The limits an app runs under: load time, CPU per request, V8 heap, wall time and concurrency.</summary>
public sealed record AppLimits(TimeSpan InitBudget, Channel.WorkerLimits Worker, int MaxConcurrentRequests = 512)
{
    /// <summary>How long a request may take; the worker holds the same limit for each run of its JS.</summary>
    public TimeSpan WallPerRequest => TimeSpan.FromMilliseconds(Worker.WallMsPerRequest);

    /// <summary>The app's own request body cap; null: the server's (--max-request-body).</summary>
    public long? MaxRequestBody { get; init; }

    /// <summary>How large a response body the supervisor takes from a worker; past it the client gets 502.</summary>
    public long MaxResponseBody { get; init; } = DefaultMaxResponseBody;

    public const long DefaultMaxResponseBody = 128L * 1024 * 1024;

    public static readonly AppLimits Default = new(TimeSpan.FromSeconds(3), Channel.WorkerLimits.Default);

    /// <summary>These limits with an app's own (from its metadata) where it sets them.</summary>
    public AppLimits With(Apps.AppLimitOverrides? own) => own is null ? this : this with
    {
        Worker = Worker with
        {
            CpuMsPerRequest = own.CpuMs ?? Worker.CpuMsPerRequest,
            HeapMb = own.HeapMb ?? Worker.HeapMb,
            WallMsPerRequest = own.WallMs ?? Worker.WallMsPerRequest,
        },
        MaxConcurrentRequests = own.MaxConcurrentRequests ?? MaxConcurrentRequests,
        MaxRequestBody = own.MaxRequestBody ?? MaxRequestBody,
        MaxResponseBody = own.MaxResponseBody ?? MaxResponseBody,
    };
}

/// <summary>
/// What every worker of this supervisor shares: how to start one, the log, the fetch proxy, and
/// (when enabled) the pool of pre-started workers and the code cache of app versions.
/// </summary>
public sealed record WorkerServices(WorkerLauncher Launcher, EdgeLog Log, Outbound.FetchProxy Fetch)
{
    public WorkerPool? Pool { get; init; }

    public CodeCacheStore? CodeCache { get; init; }

    public Metrics.EdgeMetrics Metrics { get; init; } = new();
}
