using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Blueboat.Apps;
using Blueboat.Channel;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Outbound;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// One running worker process, seen from the supervisor: the channel, the exchanges (requests) in
/// flight on it, and its exit. It starts unbound (warmed up, waiting in the pool) and is bound to
/// one app version by <see cref="LoadAsync"/>, for the rest of its life.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly FrameConnection channel;
    private readonly EdgeLog log;
    private readonly FetchProxy fetch;
    private readonly MemoryCgroup? memory;
    private readonly SemaphoreSlim fetchSlots = new(MaxFetchesInFlight);

    /// <summary>Fetches one worker may have in flight; more wait, so one app cannot flood the supervisor.</summary>
    public const int MaxFetchesInFlight = 64;

    /// <summary>Fetch response bytes one worker may have held in the supervisor at once.</summary>
    private readonly Memory.ByteBudget fetchBudget = new(64L * 1024 * 1024);
    private readonly ConcurrentDictionary<uint, Exchange> exchanges = new();
    private readonly DeadlineSweep deadlines;
    private readonly TaskCompletionSource<AppLoaded> loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Warmed> warmed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int nextExchangeId;
    private long requestsServed;

    public int Pid { get; }
    /// <summary>The app this worker runs; empty while it waits in the pool.</summary>
    public string App { get; private set; } = "";
    public string Version { get; private set; } = "";
    public DateTime StartedAt { get; } = DateTime.UtcNow;

    /// <summary>The heap limit (MB) the worker's engine was started for; 0 until it was asked to warm up.</summary>
    public int WarmHeapMb { get; private set; }

    /// <summary>Called with the V8 code cache the worker produced for its app version.</summary>
    public Action<IReadOnlyList<ModuleCodeCache>>? CodeCacheProduced { get; set; }
    public long RequestsServed => Interlocked.Read(ref requestsServed);
    public int InFlight => exchanges.Count;

    /// <summary>Completes with a description of how the process ended.</summary>
    public Task<string> Exited => exited.Task;
    public bool IsAlive => !exited.Task.IsCompleted && !channel.IsBroken && !retiring;

    private volatile bool retiring;

    private WorkerProcess(int pid, FrameConnection channel, WorkerServices services)
    {
        Pid = pid;
        this.channel = channel;
        deadlines = new DeadlineSweep(ExpireOverdue);
        log = services.Log;
        fetch = services.Fetch;
        memory = services.Launcher.Memory;
    }

    /// <summary>Starts a worker process, not yet bound to any app.</summary>
    public static async Task<WorkerProcess> StartAsync(WorkerServices services)
    {
        var (pid, socket) = await services.Launcher.LaunchAsync().ConfigureAwait(false);
        var worker = new WorkerProcess(pid, new FrameConnection(socket), services);
        _ = worker.RunAsync();
        return worker;
    }

    /// <summary>Asks the worker to start V8 and the runtime now (and run the request path once, for a pool worker); <see cref="WarmedAsync"/> completes when they are.</summary>
    public void BeginWarmUp(int heapMb, bool runRequestPath)
    {
        WarmHeapMb = heapMb;
        channel.Send(FrameKind.Warm, 0, new WarmUp(heapMb, runRequestPath), static (w, m) => m.Write(w));
    }

    /// <summary>Waits until the worker reports its engine ready; a worker that dies or hangs instead fails.</summary>
    public async Task<Warmed> WarmedAsync(TimeSpan timeout)
    {
        var done = await Task.WhenAny(warmed.Task, exited.Task, Task.Delay(timeout)).ConfigureAwait(false);
        if (done == warmed.Task) return warmed.Task.Result;
        Kill();
        if (done == exited.Task) throw new WorkerStartException($"worker {Pid} {exited.Task.Result} while starting its engine");
        throw new WorkerStartException($"worker {Pid} did not start its engine within {timeout.TotalSeconds:0} s");
    }

    /// <summary>
    /// Binds the worker to the app, sends it the app (and the code cache of its version, if any)
    /// and waits until its modules have been evaluated.
    /// </summary>
    public async Task<AppLoaded> LoadAsync(AppBundle app, AppLimits limits, IReadOnlyList<ModuleCodeCache> codeCache)
    {
        App = app.Name;
        Version = app.Version;
        maxResponseBody = limits.MaxResponseBody;
        var initBudget = limits.InitBudget;
        var message = new LoadApp(app.Name, app.Version, app.EntryModule, (int)initBudget.TotalMilliseconds, limits.Worker, app.Env, app.Package.Files) { CodeCache = codeCache };
        channel.Send(FrameKind.LoadApp, 0, message, static (w, m) => m.Write(w));

        // The worker enforces the budget itself; this backstop covers a worker that cannot (hung engine start).
        var backstop = initBudget + TimeSpan.FromSeconds(5);
        var done = await Task.WhenAny(loaded.Task, exited.Task, Task.Delay(backstop)).ConfigureAwait(false);
        if (done == loaded.Task)
        {
            var result = loaded.Task.Result;
            if (!result.Ok) throw new AppInitException(result.Error);
            return result;
        }
        Kill();
        if (done == exited.Task)
            throw new WorkerStartException($"worker {exited.Task.Result} while loading the app");
        throw new WorkerStartException($"the worker did not report within {backstop.TotalSeconds:0} s of being given the app");
    }

    /// <summary>
    /// Hands one request to the worker and waits for the whole response. Past <paramref name="wallTime"/>
    /// the worker is told to drop it and this fails with <see cref="WallTimeExceededException"/>;
    /// when <paramref name="aborted"/> fires (the client left) it is dropped the same way and this is cancelled.
    /// The response completes on the channel's reader thread: what awaits it continues there.
    /// </summary>
    public async Task<WorkerResponse> HandleAsync(RequestHead head, ReadOnlyMemory<byte> body, TimeSpan wallTime, CancellationToken aborted)
    {
        var id = (uint)Interlocked.Increment(ref nextExchangeId);
        if (id == 0) id = (uint)Interlocked.Increment(ref nextExchangeId);
        var exchange = new Exchange(Stopwatch.GetTimestamp() + (long)(wallTime.TotalSeconds * Stopwatch.Frequency));
        exchanges[id] = exchange;
        if (!IsAlive)
        {
            exchanges.TryRemove(id, out _);
            throw new WorkerExitedException("worker is not running");
        }
        deadlines.Watch();

        channel.Send(FrameKind.RequestHead, id, head, static (w, h) => h.Write(w));
        for (var offset = 0; offset < body.Length; offset += FrameLayout.BodyChunk)
        {
            var chunk = body.Slice(offset, Math.Min(FrameLayout.BodyChunk, body.Length - offset));
            channel.Send(FrameKind.RequestBody, id, chunk, static (w, c) => w.Raw(c.Span));
        }
        channel.Send(FrameKind.RequestEnd, id);

        using var registration = aborted.UnsafeRegister(static state =>
        {
            var (worker, id) = ((WorkerProcess, uint))state!;
            worker.Abandon(id, null);
        }, (this, id));
        try
        {
            return await exchange.Completion.Task.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Increment(ref requestsServed);
        }
    }

    /// <summary>Drops an exchange the supervisor no longer waits for: the worker is told, the waiter gets <paramref name="failure"/> (cancelled when null).</summary>
    private bool Abandon(uint id, Exception? failure)
    {
        if (!exchanges.TryRemove(id, out var gone)) return false;
        channel.Send(FrameKind.Cancel, id);
        if (failure is null) gone.Completion.TrySetCanceled();
        else gone.Completion.TrySetException(failure);
        return true;
    }

    /// <summary>Fails every exchange past its wall time (called by <see cref="deadlines"/>); true while any is left to watch.</summary>
    private bool ExpireOverdue()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var (id, exchange) in exchanges)
            if (exchange.Deadline <= now) Abandon(id, new WallTimeExceededException());
        return !exchanges.IsEmpty;
    }

    /// <summary>True once the supervisor itself decided to stop this worker (eviction, retirement).</summary>
    public bool Stopping { get; private set; }

    /// <summary>Stops the worker on purpose; its exit is then logged as such, not as a crash.</summary>
    public void Stop()
    {
        Stopping = true;
        Kill();
    }

    public void Kill()
    {
        if (!exited.Task.IsCompleted) NativeProcess.Kill(Pid, NativeProcess.SIGKILL);
    }

    private async Task RunAsync()
    {
        try
        {
            await channel.ReceiveAsync(OnFrame, $"worker-{Pid}").ConfigureAwait(false);
        }
        catch (ChannelProtocolException e)
        {
            log.Error("worker broke the channel protocol", ("app", App), ("pid", Pid), ("error", e.Message));
        }
        catch (Exception e)
        {
            log.Error("worker channel failed", ("app", App), ("pid", Pid), ("error", e.ToString()));
        }

        // The channel is gone: the worker is dead or must be. Kill, then reap so no zombie stays.
        NativeProcess.Kill(Pid, NativeProcess.SIGKILL);
        deadlines.Dispose();
        var description = await Task.Run(Reap).ConfigureAwait(false);
        memory?.Release(Pid);
        exited.TrySetResult(description);
        channel.Dispose();
        var failure = new WorkerExitedException($"worker {Pid} {description}");
        foreach (var id in exchanges.Keys)
            if (exchanges.TryRemove(id, out var exchange)) exchange.Completion.TrySetException(failure);
        loaded.TrySetResult(new AppLoaded(false, $"worker {description}", 0));
    }

    private string Reap()
    {
        while (true)
        {
            var r = NativeProcess.WaitPid(Pid, out var status, 0);
            if (r == Pid) return NativeProcess.DescribeExit(status);
            if (r < 0 && System.Runtime.InteropServices.Marshal.GetLastSystemError() == NativeProcess.EINTR) continue;
            return "exited (status unknown)";
        }
    }

    private void OnFrame(FrameKind kind, uint id, ReadOnlySpan<byte> payload)
    {
        switch (kind)
        {
            case FrameKind.Warmed:
                warmed.TrySetResult(Channel.Warmed.Read(payload));
                break;
            case FrameKind.AppLoaded:
                loaded.TrySetResult(Channel.AppLoaded.Read(payload));
                break;
            case FrameKind.CodeCache:
                CodeCacheProduced?.Invoke(ModuleCodeCache.Read(payload));
                break;
            case FrameKind.ResponseHead:
                if (exchanges.TryGetValue(id, out var e1)) e1.Head = ResponseHead.Read(payload);
                break;
            case FrameKind.ResponseBody:
                if (exchanges.TryGetValue(id, out var e2))
                {
                    if (e2.Body.WrittenCount + payload.Length <= maxResponseBody) e2.Body.Write(payload);
                    else if (exchanges.TryRemove(id, out _))
                    {
                        // Never buffer past the cap: the worker drops the rest, the client gets 502.
                        channel.Send(FrameKind.Cancel, id);
                        e2.Completion.TrySetException(new ResponseTooLargeException(maxResponseBody));
                    }
                }
                break;
            case FrameKind.ResponseEnd:
                if (exchanges.TryRemove(id, out var e3))
                {
                    if (e3.Head is null) e3.Completion.TrySetException(new WorkerExitedException("worker ended a response it never started"));
                    else e3.Completion.TrySetResult(new WorkerResponse(e3.Head, e3.Body));
                }
                break;
            case FrameKind.Log:
                log.App(App, Version, LogRecord.Read(payload));
                break;
            case FrameKind.FetchRequest:
                _ = FetchAsync(id, Channel.FetchRequest.Read(payload));
                break;
            case FrameKind.Retiring:
                retiring = true; // new requests go to a replacement; those in flight here still get answers
                break;
            default:
                throw new ChannelProtocolException($"unexpected frame kind {(byte)kind} from worker");
        }
    }

    /// <summary>Performs a worker's fetch under the outbound policy and sends the outcome back.</summary>
    private async Task FetchAsync(uint id, FetchRequest request)
    {
        await fetchSlots.WaitAsync().ConfigureAwait(false);
        try
        {
            using var lease = new Memory.BudgetLease(fetch.Budget, fetchBudget);
            var result = await fetch.SendAsync(App, request, lease).ConfigureAwait(false);
            channel.Send(FrameKind.FetchResponse, id, result, static (w, r) => r.Write(w));
        }
        finally
        {
            fetchSlots.Release();
        }
    }

    public void Dispose()
    {
        Kill();
    }

    private long maxResponseBody = AppLimits.DefaultMaxResponseBody;

    private sealed class Exchange(long deadline)
    {
        public readonly long Deadline = deadline; // Stopwatch ticks
        public ResponseHead? Head;
        public readonly ArrayBufferWriter<byte> Body = new();
        // Completed on the channel's reader thread, which then runs the response out itself: no thread-pool hop.
        public readonly TaskCompletionSource<WorkerResponse> Completion = new();
    }
}
