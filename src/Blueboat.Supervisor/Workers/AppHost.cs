using Blueboat.Apps;
using Blueboat.Supervisor.Logging;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// Keeps one app version running in a worker: starts it on first use, shares that start among
/// concurrent first requests, and replaces a worker that died on the next request. A failed start
/// is remembered briefly so a broken app cannot make every request fork a new process.
/// </summary>
public sealed class AppHost(AppBundle app, WorkerLauncher launcher, EdgeLog log, TimeSpan initBudget) : IDisposable
{
    /// <summary>How long a failed start answers for the app before the next attempt.</summary>
    public static readonly TimeSpan FailedStartRetry = TimeSpan.FromSeconds(1);

    private readonly Lock gate = new();
    private Task<WorkerProcess>? current;
    private DateTime failedAt;

    public AppBundle App => app;

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
            worker = await WorkerProcess.StartAsync(launcher, app, log).ConfigureAwait(false);
            await worker.LoadAsync(app, initBudget).ConfigureAwait(false);
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
        log.Warn("worker exited", ("app", app.Name), ("version", app.Version), ("pid", worker.Pid), ("how", how),
            ("requests_served", worker.RequestsServed));
    }

    public void Dispose()
    {
        CurrentWorker?.Kill();
    }
}
