using Blueboat.Supervisor.Logging;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// Pre-started workers: idle worker processes whose V8 engine and runtime are already up, not
/// yet bound to an app nor locked down. The first request to an app that has no worker takes one,
/// so it pays only for loading the app's own code. Taking one starts a replacement in the
/// background, never on the request path. A pool worker that dies while idle is replaced; deaths
/// or failed starts in a row back off (1 s doubling to 30 s) so workers that cannot start at all
/// do not make the supervisor fork in a loop.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private readonly WorkerServices services;
    private readonly EdgeLog log;
    private readonly Lock gate = new();
    private readonly List<WorkerProcess> idle = new();
    private readonly Queue<TaskCompletionSource<WorkerProcess?>> waiters = new(); // requests waiting for a warming worker
    private readonly HashSet<WorkerProcess> warming = new(); // started, engine not yet ready
    private readonly HashSet<Task> starts = new(); // starts in progress, which shutting down waits for
    private readonly Timer retry;
    private int starting;
    private int failuresInARow;
    private DateTime nextStartAt = DateTime.MinValue;
    private volatile bool disposed;
    private readonly TaskCompletionSource filled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int firstStartsDone;

    /// <summary>
    /// Completes once the pool's first workers have all come up (into the pool, or straight to a
    /// request that was waiting) or failed to (the pool keeps retrying and logs why): what the
    /// server waits for before it reports itself ready.
    /// </summary>
    public Task Filled => filled.Task;

    private void FirstStartDone()
    {
        if (Interlocked.Increment(ref firstStartsDone) >= Size) filled.TrySetResult();
    }

    /// <summary>How long a worker may take to start its engine before it counts as failed.</summary>
    public static readonly TimeSpan WarmTimeout = TimeSpan.FromSeconds(15);

    /// <param name="services">how workers start (the pool itself is not part of them)</param>
    /// <param name="size">idle workers kept ready</param>
    /// <param name="heapMb">the V8 heap limit the pool's engines are made for (the server's default)</param>
    public WorkerPool(WorkerServices services, int size, int heapMb)
    {
        this.services = services;
        log = services.Log;
        Size = size;
        HeapMb = heapMb;
        retry = new Timer(_ => Refill());
    }

    public int Size { get; }

    public int HeapMb { get; }

    /// <summary>The idle workers right now (they belong to no app).</summary>
    public IReadOnlyList<WorkerProcess> Idle
    {
        get { lock (gate) return idle.ToList(); }
    }

    /// <summary>Starts filling the pool; returns at once.</summary>
    public void Start() => Refill();

    /// <summary>
    /// An idle worker whose engine was made for <paramref name="heapMb"/>; when none is idle but
    /// one is warming up (just after start, or after a refill), that one as soon as it is ready,
    /// which is sooner than starting another; null when the pool has nothing for this request.
    /// V8 fixes the ArrayBuffer cap when an engine is created, so an app whose heap limit differs
    /// from the pool's gets a worker of its own instead (see <see cref="AppHost"/>).
    /// </summary>
    public Task<WorkerProcess?> TakeAsync(int heapMb)
    {
        if (heapMb != HeapMb || Size == 0) return Task.FromResult<WorkerProcess?>(null);
        Task<WorkerProcess?> result;
        lock (gate)
        {
            WorkerProcess? taken = null;
            while (idle.Count > 0 && taken is null)
            {
                var candidate = idle[0];
                idle.RemoveAt(0);
                if (candidate.IsAlive) taken = candidate;
            }
            if (taken is not null)
            {
                failuresInARow = 0; // pool workers do come up
                result = Task.FromResult<WorkerProcess?>(taken);
            }
            else if (starting > waiters.Count && !disposed)
            {
                var waiter = new TaskCompletionSource<WorkerProcess?>(TaskCreationOptions.RunContinuationsAsynchronously);
                waiters.Enqueue(waiter);
                result = waiter.Task;
            }
            else result = Task.FromResult<WorkerProcess?>(null);
        }
        ScheduleRefill(RefillDelay);
        return result;
    }

    /// <summary>
    /// How long after a worker is taken its replacement starts: starting a worker costs a fork and
    /// a few hundred ms of CPU, which would otherwise compete with the very request that took one
    /// (on a small box that doubled the cold start). A burst of takes pushes the refill back until
    /// the burst ends; its apps meanwhile start workers of their own.
    /// </summary>
    public static readonly TimeSpan RefillDelay = TimeSpan.FromMilliseconds(100);

    private void ScheduleRefill(TimeSpan delay)
    {
        lock (gate)
        {
            if (disposed) return;
            var wait = nextStartAt - DateTime.UtcNow;
            retry.Change(wait > delay ? wait : delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void Refill()
    {
        int toStart;
        lock (gate)
        {
            if (disposed) return;
            var wait = nextStartAt - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                retry.Change(wait, Timeout.InfiniteTimeSpan);
                return;
            }
            toStart = Size - idle.Count - starting;
            if (toStart <= 0) return;
            starting += toStart;
        }
        for (var i = 0; i < toStart; i++)
        {
            var start = StartOneAsync();
            lock (gate) starts.Add(start);
            start.ContinueWith(t => { lock (gate) starts.Remove(t); }, TaskScheduler.Default);
        }
    }

    private async Task StartOneAsync()
    {
        WorkerProcess? worker = null;
        try
        {
            worker = await WorkerProcess.StartAsync(services).ConfigureAwait(false);
            lock (gate) warming.Add(worker); // from here on, shutting down stops it too
            if (disposed) throw new OperationCanceledException("shutting down");
            worker.BeginWarmUp(HeapMb, runRequestPath: true);
            var warmed = await worker.WarmedAsync(WarmTimeout).ConfigureAwait(false);
            TaskCompletionSource<WorkerProcess?>? waiter = null;
            lock (gate)
            {
                starting--;
                warming.Remove(worker);
                if (!disposed)
                {
                    if (waiters.TryDequeue(out waiter)) failuresInARow = 0; // a request is waiting for this very worker
                    else idle.Add(worker);
                }
            }
            FirstStartDone();
            if (disposed)
            {
                worker.Stop();
                await worker.Exited.ConfigureAwait(false);
                return;
            }
            log.Info("worker pre-started", ("pid", worker.Pid), ("warm_ms", Math.Round(warmed.WarmMicroseconds / 1000.0, 2)),
                ("start_ms", Math.Round((DateTime.UtcNow - worker.StartedAt).TotalMilliseconds, 2)), ("idle", Idle.Count), ("handed_to_waiting_request", waiter is not null));
            if (waiter is not null)
            {
                waiter.TrySetResult(worker);
                ScheduleRefill(RefillDelay);
            }
            else _ = WatchWhileIdleAsync(worker);
        }
        catch (Exception e)
        {
            TaskCompletionSource<WorkerProcess?>? orphan = null;
            lock (gate)
            {
                starting--;
                if (worker is not null) warming.Remove(worker);
                if (waiters.Count > starting) waiters.TryDequeue(out orphan); // more waiting than warming: one starts its own
            }
            orphan?.TrySetResult(null);
            if (worker is not null)
            {
                worker.Stop();
                await worker.Exited.ConfigureAwait(false); // reaped, its cgroup removed
            }
            FirstStartDone();
            if (disposed) return;
            log.Warn("pre-started worker failed to start", ("pid", worker?.Pid), ("error", e.Message));
            Failed();
            Refill();
        }
    }

    /// <summary>Replaces a pool worker that died before anyone took it.</summary>
    private async Task WatchWhileIdleAsync(WorkerProcess worker)
    {
        var how = await worker.Exited.ConfigureAwait(false);
        bool wasIdle;
        lock (gate) wasIdle = idle.Remove(worker);
        if (!wasIdle || disposed) return; // taken by an app (which watches it now), or shutting down
        log.Warn("idle pre-started worker exited; replacing it", ("pid", worker.Pid), ("how", how));
        if (DateTime.UtcNow - worker.StartedAt < AppHost.HealthyLifetime) Failed();
        else lock (gate) failuresInARow = 0;
        Refill();
    }

    /// <summary>One more failure in a row: the first is replaced at once, then 1 s, 2 s, 4 s ... 30 s.</summary>
    private void Failed()
    {
        int failures;
        TimeSpan wait;
        lock (gate)
        {
            failures = ++failuresInARow;
            wait = failures < 2 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, failures - 2)));
            nextStartAt = DateTime.UtcNow + wait;
        }
        if (failures >= 2)
            log.Warn("pre-started workers keep failing; backing off", ("failures_in_a_row", failures), ("next_start_in_s", wait.TotalSeconds));
    }

    /// <summary>Stops the idle and warming workers and waits (briefly) until they are reaped (so their cgroups are gone).</summary>
    public void Dispose()
    {
        List<WorkerProcess> stopping;
        List<TaskCompletionSource<WorkerProcess?>> waiting;
        List<Task> inProgress;
        lock (gate)
        {
            disposed = true;
            stopping = idle.Concat(warming).ToList();
            idle.Clear();
            inProgress = starts.ToList();
            waiting = waiters.ToList();
            waiters.Clear();
        }
        foreach (var waiter in waiting) waiter.TrySetResult(null);
        retry.Dispose();
        filled.TrySetResult();
        foreach (var worker in stopping) worker.Stop();
        foreach (var worker in stopping) worker.Exited.Wait(TimeSpan.FromSeconds(2));
        // A start caught mid-fork stops its worker itself once it sees the pool closed.
        try { Task.WaitAll(inProgress.ToArray(), TimeSpan.FromSeconds(3)); }
        catch (AggregateException) { }
    }
}
