using System.Diagnostics;
using System.Text.Json;
using Blueboat.Apps;
using Blueboat.Channel;
using Blueboat.Runtime.Glue;
using Microsoft.ClearScript;

namespace Blueboat.Worker;

/// <summary>
/// The worker's event loop. Every entry into JS happens on this one thread, one event at a time,
/// so many requests interleave on one JS context the way async handlers expect.
/// </summary>
internal sealed class WorkerLoop : IRuntimeHost
{
    private readonly BlockingFrameChannel channel;
    private readonly WorkerInbox inbox;
    private readonly PostedEvents posted; // timer callbacks post here, from the thread pool
    private JsEngine? engine; // created by WarmUp (pre-started workers) or by Load
    private int engineArrayBufferMb; // the ArrayBuffer cap the engine was created with; fixed for its life
    private bool codeCachePending; // the app is loaded and its code cache not yet sent
    private bool dispatchedSinceLoad; // the cache waits for a first request: it then holds what that compiled, and never delays it
    private readonly HashSet<uint> open = new();
    private readonly Dictionary<uint, string> requestIds = new(); // exchange -> request id, for the worker's own log lines
    private readonly Dictionary<uint, long> busyTicks = new();
    private readonly Dictionary<int, (Timer Timer, uint Exchange)> timers = new();
    private readonly Dictionary<uint, int> pendingByExchange = new(); // timers and fetches each exchange is waiting on
    private readonly Dictionary<int, uint> fetches = new(); // fetch id -> the exchange that started it
    private readonly string initRequestId = "s:init+" + Guid.NewGuid().ToString("D");

    private byte[] currentBody = [];
    private uint currentExchange;
    private long dispatchStarted;
    private bool loaded;
    private bool appReady;
    private WorkerLimits limits = WorkerLimits.Default;
    private readonly CpuWatchdog watchdog;
    private HeapGuard? heapGuard; // from the app's load on
    private bool heapExceededInEntry; // the running entry took the heap past its limit
    private bool inEntry; // JS is running (an entry from EnterJs)
    private readonly Dictionary<uint, long> cpuNsByExchange = new();

    /// <summary>Longest log message sent to the supervisor; the rest is cut with a marker.</summary>
    private const int MaxLogChars = 64 * 1024;

    public WorkerLoop(BlockingFrameChannel channel, PostedEvents posted)
    {
        this.channel = channel;
        this.posted = posted;
        inbox = new WorkerInbox(channel, posted);
        watchdog = new CpuWatchdog(() => engine?.Interrupt(), period => heapGuard?.Exceeded(period) ?? false);
    }

    /// <summary>Events handled between two writes at most, so a busy queue still answers promptly.</summary>
    private const int EventsPerFlush = 8;

    private readonly QuietTrim quietTrim = new();

    public int Run()
    {
        var sinceFlush = 0;
        while (true)
        {
            if (!inbox.TryTake(out var ev))
            {
                // Nothing to do: frames queued by the events handled so far leave together, then
                // the code cache if it waits (after them, so no answer waits for it), then sleep.
                channel.Flush();
                sinceFlush = 0;
                if (codeCachePending && dispatchedSinceLoad)
                {
                    SendCodeCache();
                    channel.Flush();
                    continue;
                }
                if (engine is null) inbox.Wait(Timeout.Infinite);
                else if (!inbox.Wait(quietTrim.NextLookMs))
                {
                    quietTrim.OnQuiet(
                        fullTrim: () =>
                        {
                            MemoryTrim.Run(engine.CollectGarbage);
                            if (heapGuard is { } guard && !guard.Check()) HeapExhausted();
                        },
                        releaseFreePages: MemoryTrim.ReleaseFreePages,
                        residentBytes: ResidentMemory.Bytes);
                }
                continue;
            }
            if (++sinceFlush >= EventsPerFlush)
            {
                channel.Flush();
                sinceFlush = 0;
            }
            quietTrim.Reset();
            switch (ev)
            {
                case WorkerEvent.Warm warm:
                    WarmUp(warm.Request);
                    break;
                case WorkerEvent.Load load:
                    Load(load.App);
                    break;
                case WorkerEvent.RequestReady ready:
                    OnRequest(ready);
                    break;
                case WorkerEvent.TimerDue due:
                    OnTimer(due.TimerId);
                    break;
                case WorkerEvent.FetchDone done:
                    OnFetchDone(done);
                    break;
                case WorkerEvent.Cancelled cancelled:
                    open.Remove(cancelled.ExchangeId);
                    busyTicks.Remove(cancelled.ExchangeId);
                    break;
                case WorkerEvent.ChannelClosed:
                    return 0;
            }
        }
    }

    /// <summary>
    /// Starts V8 and the runtime before any app is known, so that loading an app later costs only
    /// its own code. The ArrayBuffer cap is fixed at engine creation: the supervisor gives this
    /// worker only apps whose heap limit equals it.
    /// </summary>
    private void WarmUp(WarmUp request)
    {
        var started = Stopwatch.GetTimestamp();
        if (engine is null) CreateEngine(request.ArrayBufferLimitMb);
        if (request.RunRequestPath)
        {
            try
            {
                engine!.WarmUp();
                WarmUpRequestPath();
            }
            catch (ScriptEngineException e) { Log(LogLevel.Warn, initRequestId, $"runtime warm-up failed (the first request compiles instead): {e.ErrorDetails}"); }
            ProcessName.Set(ProcessName.Idle); // only pool workers wait idle; one started for an app is named once it runs it
        }
        channel.Send(FrameKind.Warmed, 0, new Warmed((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds), static (w, m) => m.Write(w));
    }

    /// <summary>An exchange id never open: the runtime's answer to the warm-up request is dropped by <see cref="Respond"/>.</summary>
    private const uint WarmUpExchange = uint.MaxValue;

    /// <summary>
    /// Runs the platform's own request path once on a synthetic request before any app exists
    /// (the runtime answers it 404 with no app code to call), so that the C# and JS code of a
    /// dispatch and of its answer are compiled before the first real request.
    /// </summary>
    private void WarmUpRequestPath()
    {
        var head = new RequestHead("GET", "https://warm.invalid/", "warm-up", "127.0.0.1", [new("host", "warm.invalid")]);
        EnterJs(WarmUpExchange, RuntimeEvents.ForRequest(WarmUpExchange, head, 0));
        _ = RuntimeEvents.ParseHeaderLines("content-type\ntext/plain");
        _ = JsonSerializer.Serialize(new Dictionary<string, string>(), WorkerJson.Default.DictionaryStringString);
    }

    private void CreateEngine(int arrayBufferLimitMb)
    {
        // ArrayBuffer memory lives outside the V8 heap: it gets the same cap, so neither can exhaust the box.
        engine = new JsEngine(this, maxArrayBufferBytes: (ulong)arrayBufferLimitMb * 1024 * 1024);
        engineArrayBufferMb = arrayBufferLimitMb;
    }

    /// <summary>
    /// Sends the supervisor the V8 code cache of the app's modules, once the loop has nothing else
    /// to do (so neither loading nor the first request waits for it); the next worker of this app
    /// version compiles from it.
    /// </summary>
    private void SendCodeCache()
    {
        codeCachePending = false;
        List<ModuleCodeCache> cache;
        try { cache = engine!.ProduceCodeCache(); }
        catch (ScriptEngineException e)
        {
            Log(LogLevel.Warn, initRequestId, $"no code cache for this app version: {e.Message}");
            return;
        }
        if (cache.Count == 0) return;
        channel.Send(FrameKind.CodeCache, 0, cache, static (w, c) => ModuleCodeCache.WriteAll(w, c));
    }

    private void Load(LoadApp app)
    {
        if (loaded)
        {
            SendLoaded(new AppLoaded(false, "this worker already runs an app", 0));
            return;
        }
        limits = app.Limits;
        var started = Stopwatch.GetTimestamp();
        if (this.engine is null) CreateEngine(app.Limits.HeapMb);
        else if (engineArrayBufferMb != app.Limits.HeapMb)
        {
            // The supervisor pairs apps with pre-started workers of the same heap limit; a mismatch is its bug.
            SendLoaded(new AppLoaded(false, $"this worker was started for a heap limit of {engineArrayBufferMb} MB, not the app's {app.Limits.HeapMb} MB", 0));
            return;
        }
        var engine = this.engine!;
        engine.WatchHeap(app.Limits.HeapMb); // the app's top-level code runs under the close watch
        var timedOut = false;
        using var budget = new Timer(_ => { timedOut = true; engine.Interrupt(); }, null, app.InitBudgetMs, Timeout.Infinite);
        try
        {
            var envJson = JsonSerializer.Serialize(new Dictionary<string, string>(app.Env), WorkerJson.Default.DictionaryStringString);
            var cacheOutcome = engine.LoadApp(new AppPackage(new Dictionary<string, byte[]>(app.Files)), app.EntryModule, envJson, app.CodeCache);
            WaitForTopLevelAwait(started, app.InitBudgetMs, ref timedOut);
            budget.Change(Timeout.Infinite, Timeout.Infinite);
            if (timedOut) throw new TimeoutException($"app initialisation exceeded its budget of {app.InitBudgetMs} ms");
            ProcessName.Set(ProcessName.App);
            LockDown(app.Limits.Sandbox);
            StartHeapGuard(engine, app.Limits.HeapMb);
            loaded = true;
            codeCachePending = cacheOutcome != CodeCacheOutcome.Accepted; // an accepted cache is already what the supervisor holds
            SendLoaded(new AppLoaded(true, "", (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds, cacheOutcome));
        }
        catch (Exception e)
        {
            budget.Change(Timeout.Infinite, Timeout.Infinite);
            string summary;
            string details;
            if (e is TimeoutException)
            {
                summary = e.Message;
                details = summary;
            }
            else if (timedOut)
            {
                summary = $"app initialisation exceeded its budget of {app.InitBudgetMs} ms";
                details = summary;
            }
            else if (e is ScriptEngineException se)
            {
                details = string.IsNullOrEmpty(se.ErrorDetails) ? se.Message : se.ErrorDetails;
                summary = FirstLine(details);
            }
            else
            {
                details = e.ToString();
                summary = e.Message;
            }
            Log(LogLevel.Error, initRequestId, $"app failed to initialise: {details}");
            SendLoaded(new AppLoaded(false, summary, (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds));
        }
    }

    /// <summary>
    /// A module with top-level await finishes after LoadApp returns: run its timers until the
    /// runtime reports the app ready or the budget is spent (a rejected await never reports).
    /// </summary>
    private void WaitForTopLevelAwait(long started, int budgetMs, ref bool timedOut)
    {
        while (!appReady && !Volatile.Read(ref timedOut))
        {
            var left = budgetMs - (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (left <= 0) break;
            if (!inbox.TryTake(out var ev))
            {
                inbox.Wait(left);
                continue;
            }
            switch (ev)
            {
                case WorkerEvent.TimerDue due:
                    OnTimer(due.TimerId);
                    break;
                case WorkerEvent.ChannelClosed:
                    Environment.Exit(0);
                    break;
                default:
                    throw new InvalidOperationException($"unexpected {ev.GetType().Name} while the app loads");
            }
        }
        if (!appReady)
            throw new TimeoutException($"the app's modules did not finish evaluating within {budgetMs} ms (a top-level await rejected or never settled)");
    }

    /// <summary>From the first request on, the heap is watched closely only while it is large (see <see cref="HeapGuard"/>).</summary>
    private void StartHeapGuard(JsEngine engine, int heapMb)
    {
        var limitBytes = heapMb * 1024L * 1024;
        engine.WatchHeap(null);
        heapGuard = new HeapGuard(limitBytes, limitBytes, new HeapGuard.Gauges(engine.MeasureHeap, engine.CollectGarbage, on => engine.WatchHeap(on ? heapMb : null), ResidentMemory.Bytes));
        if (!heapGuard.Check()) HeapExhausted();
    }

    /// <summary>
    /// After the app is loaded and before its first request: the address-space cap where the
    /// supervisor has no memory cgroup for this worker, then the seccomp policy.
    /// </summary>
    private static void LockDown(SandboxMode mode)
    {
        if (Sandbox.ProcessHardening.AddressSpaceBudgetMb() is { } budget)
            Sandbox.ProcessHardening.LimitAddressSpace(budget);
        if (mode == SandboxMode.Off) return;
        Sandbox.Seccomp.Install(Sandbox.SyscallPolicy.Embedded());
        if (mode != SandboxMode.On) Sandbox.ForbiddenProbe.Attempt(mode);
    }

    private static bool IsHeapExhausted(ScriptEngineException e) =>
        e.Message.Contains("memory limit", StringComparison.OrdinalIgnoreCase) || (e.ErrorDetails?.Contains("memory limit", StringComparison.OrdinalIgnoreCase) ?? false);

    /// <summary>
    /// V8 refuses every call once its heap limit is hit: answer what is in flight with 503, then
    /// end this worker; the supervisor starts a fresh one for the next request.
    /// </summary>
    private void HeapExhausted(bool grewInOneEntry = false) =>
        Retire($"the app exceeded its heap limit of {limits.HeapMb} MB" + (grewInOneEntry ? " (its memory grew past what the limit allows within one run of JS)" : ""),
            $"the app exceeded its memory limit of {limits.HeapMb} MB");

    /// <summary>
    /// JS that runs for no open request (a timer after its answer went out) has no request to
    /// fail: past the CPU limit in one go, the worker is replaced, or a timer loop would burn CPU forever.
    /// </summary>
    private void BackgroundCpuExhausted() =>
        Retire($"JavaScript outside any open request (a timer) ran past the CPU limit of {limits.CpuMsPerRequest} ms",
            $"the app exceeded its CPU time limit of {limits.CpuMsPerRequest} ms");

    /// <summary>JS for no open request (a timer) that blocked past the wall limit: the worker is replaced, as for CPU.</summary>
    private void BackgroundWallExhausted() =>
        Retire($"JavaScript outside any open request (a timer) ran past the wall limit of {limits.WallMsPerRequest} ms",
            $"the app exceeded its wall time limit of {limits.WallMsPerRequest} ms");

    /// <summary>Answers what is in flight with 503 and ends this worker; the supervisor starts a fresh one.</summary>
    private void Retire(string why, string answer)
    {
        channel.Send(FrameKind.Retiring, 0);
        Log(LogLevel.Error, "", "worker stopped: " + why);
        // Every request this worker took or that waits for it in the channel gets the answer; the
        // supervisor sends no more once it reads Retiring (a request it sent meanwhile is lost: 502).
        var bytes = System.Text.Encoding.UTF8.GetBytes(answer);
        foreach (var exchange in open.ToList().Concat(inbox.TakeUnhandledRequests()))
            SendResponse(exchange, 503, [new("content-type", "text/plain; charset=utf-8")], bytes, 0);
        open.Clear();
        channel.Drain(TimeSpan.FromSeconds(2));
        Environment.Exit(3);
    }

    private static string FirstLine(string s)
    {
        var nl = s.IndexOf('\n');
        return (nl < 0 ? s : s[..nl]).Trim();
    }

    private void SendLoaded(AppLoaded result) =>
        channel.Send(FrameKind.AppLoaded, 0, result, static (w, r) => r.Write(w));

    private void OnRequest(WorkerEvent.RequestReady ready)
    {
        if (!loaded)
        {
            SendResponse(ready.ExchangeId, 503, [new("content-type", "text/plain; charset=utf-8")], "the app is not loaded"u8, 0);
            return;
        }
        dispatchedSinceLoad = true;
        open.Add(ready.ExchangeId);
        requestIds[ready.ExchangeId] = ready.Head.RequestId;
        currentBody = ready.Body;
        EnterJs(ready.ExchangeId, RuntimeEvents.ForRequest(ready.ExchangeId, ready.Head, ready.Body.Length));
        currentBody = [];
    }

    private void OnFetchDone(WorkerEvent.FetchDone done)
    {
        if (!fetches.Remove(done.FetchId, out var exchange)) return;
        Release(exchange);
        currentBody = done.Response.Body;
        EnterJs(exchange, RuntimeEvents.ForFetch(done.FetchId, done.Response));
        currentBody = [];
    }

    private void Release(uint exchange)
    {
        if (pendingByExchange.GetValueOrDefault(exchange) <= 1) pendingByExchange.Remove(exchange);
        else pendingByExchange[exchange]--;
    }

    private void OnTimer(int timerId)
    {
        if (!RemoveTimer(timerId, out var timer)) return;
        timer.Timer.Dispose();
        EnterJs(timer.Exchange, RuntimeEvents.ForTimer(timerId));
    }

    private void EnterJs(uint exchange, string @event)
    {
        currentExchange = exchange;
        dispatchStarted = Stopwatch.GetTimestamp();
        inEntry = true;
        heapExceededInEntry = false;
        var tracked = exchange != 0 && open.Contains(exchange);
        // A request's JS shares its CPU budget across entries; anything else gets the limit per entry.
        watchdog.Arm(limits.CpuMsPerRequest * 1_000_000L - (tracked ? cpuNsByExchange.GetValueOrDefault(exchange) : 0),
            limits.WallMsPerRequest * Stopwatch.Frequency / 1000);
        try
        {
            engine!.Dispatch(@event);
        }
        catch (ScriptInterruptedException) when (watchdog.Fired && watchdog.FiredForWall)
        {
            // JS blocked past the wall limit (without using CPU, or the CPU limit would have come
            // first). The supervisor already answered the request 504; the engine stays usable.
            var seconds = Stopwatch.GetElapsedTime(dispatchStarted).TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
            if (!tracked) BackgroundWallExhausted();
            Log(LogLevel.Error, requestIds.GetValueOrDefault(exchange, ""), $"request stopped: one run of its JavaScript lasted {seconds} s, past the wall limit of {limits.WallMsPerRequest} ms");
            if (open.Remove(exchange))
                SendResponse(exchange, 504, [new("content-type", "text/plain; charset=utf-8")],
                    System.Text.Encoding.UTF8.GetBytes($"the request exceeded its wall time limit of {limits.WallMsPerRequest} ms"), 0);
        }
        catch (ScriptInterruptedException) when (watchdog.Fired)
        {
            if (watchdog.FiredForMemory) HeapExhausted(grewInOneEntry: true);
            if (!tracked) BackgroundCpuExhausted();
            // The request ran out of CPU time: it gets 503; the engine stays usable for the others.
            if (open.Remove(exchange))
            {
                var usedMs = (cpuNsByExchange.GetValueOrDefault(exchange) + watchdog.Disarm()) / 1e6;
                Log(LogLevel.Error, requestIds.GetValueOrDefault(exchange, ""), $"request stopped: it used {usedMs.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} ms of CPU, over its limit of {limits.CpuMsPerRequest} ms");
                SendResponse(exchange, 503, [new("content-type", "text/plain; charset=utf-8")],
                    System.Text.Encoding.UTF8.GetBytes($"the request exceeded its CPU time limit of {limits.CpuMsPerRequest} ms"), 0);
            }
        }
        catch (ScriptEngineException e) when (IsHeapExhausted(e))
        {
            HeapExhausted();
        }
        catch (ScriptEngineException e)
        {
            Log(LogLevel.Error, "", $"runtime dispatch failed: {e.ErrorDetails}");
        }
        finally
        {
            var cpu = watchdog.Disarm();
            if (tracked)
            {
                if (open.Contains(exchange)) cpuNsByExchange[exchange] = cpuNsByExchange.GetValueOrDefault(exchange) + cpu;
                else cpuNsByExchange.Remove(exchange);
            }
            var elapsed = Stopwatch.GetTimestamp() - dispatchStarted;
            if (open.Contains(exchange)) busyTicks[exchange] = busyTicks.GetValueOrDefault(exchange) + elapsed;
            else requestIds.Remove(exchange);
            currentExchange = 0;
            inEntry = false;
        }
        if (heapGuard is { } heap && (heapExceededInEntry || !heap.EntryDone(Stopwatch.GetTimestamp() - dispatchStarted))) HeapExhausted();
        // Microtasks have all run by now: an unanswered exchange with nothing pending never will be.
        if (exchange != 0 && open.Contains(exchange) && pendingByExchange.GetValueOrDefault(exchange) == 0)
        {
            try { engine!.Dispatch(RuntimeEvents.ForAbandon(exchange)); }
            catch (ScriptEngineException e) { Log(LogLevel.Error, "", $"runtime dispatch failed: {e.ErrorDetails}"); }
            if (open.Remove(exchange)) // the runtime could not answer it: answer plainly
                SendResponse(exchange, 500, [new("content-type", "text/plain; charset=utf-8")], "the app did not answer"u8, 0);
        }
    }

    // ---- IRuntimeHost: called from JS, on this thread ----

    public void CopyEventBody(Span<byte> destination) =>
        currentBody.AsSpan(0, Math.Min(currentBody.Length, destination.Length)).CopyTo(destination);

    public void Respond(uint exchangeId, int status, string headerLines, ReadOnlySpan<byte> body)
    {
        if (!open.Contains(exchangeId)) return; // cancelled, or answered already
        // Validate before answering: a failure here (ArgumentException) throws back into JS, which falls back to its 500 page.
        if (status is < 200 or > 599) throw new ArgumentOutOfRangeException(nameof(status), $"invalid status {status}");
        var headers = RuntimeEvents.ParseHeaderLines(headerLines);
        if (inEntry && heapGuard is { } heap && (heapExceededInEntry || !heap.AllowsAnswer(Stopwatch.GetTimestamp() - dispatchStarted)))
        {
            heapExceededInEntry = true; // the answer stays unsent: once the entry ends the worker retires, answering 503
            return;
        }
        open.Remove(exchangeId);
        var busy = busyTicks.GetValueOrDefault(exchangeId);
        busyTicks.Remove(exchangeId);
        if (currentExchange != 0) busy += Stopwatch.GetTimestamp() - dispatchStarted;
        SendResponse(exchangeId, status, headers, body, (long)(busy * 1_000_000.0 / Stopwatch.Frequency));
    }

    private void SendResponse(uint exchangeId, int status, List<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body, long busyMicros)
    {
        channel.Send(FrameKind.ResponseHead, exchangeId, new ResponseHead(status, busyMicros, headers), static (w, h) => h.Write(w));
        for (var offset = 0; offset < body.Length; offset += FrameLayout.BodyChunk)
        {
            channel.SendRaw(FrameKind.ResponseBody, exchangeId, body.Slice(offset, Math.Min(FrameLayout.BodyChunk, body.Length - offset)));
        }
        channel.Send(FrameKind.ResponseEnd, exchangeId);
    }

    public void Log(LogLevel level, string requestId, string message)
    {
        if (message.Length > MaxLogChars) message = message[..MaxLogChars] + $"... [{message.Length - MaxLogChars} more characters cut]";
        channel.Send(FrameKind.Log, 0, new LogRecord(level, requestId, message), static (w, r) => r.Write(w));
    }

    public void AppReady() => appReady = true;

    public void FetchStart(int fetchId, uint exchangeId, string requestJson, ReadOnlySpan<byte> body)
    {
        var request = RuntimeEvents.ParseFetch(exchangeId, requestJson, body.ToArray());
        fetches[fetchId] = exchangeId;
        pendingByExchange[exchangeId] = pendingByExchange.GetValueOrDefault(exchangeId) + 1;
        channel.Send(FrameKind.FetchRequest, (uint)fetchId, request, static (w, r) => r.Write(w));
    }

    public void SetTimer(int timerId, double delayMs, uint exchangeId)
    {
        ClearTimer(timerId);
        var due = (long)Math.Clamp(delayMs, 0, int.MaxValue);
        var timer = new Timer(static state =>
        {
            var (posted, id) = ((PostedEvents, int))state!;
            posted.Post(new WorkerEvent.TimerDue(id));
        }, (posted, timerId), due, Timeout.Infinite);
        timers[timerId] = (timer, exchangeId);
        pendingByExchange[exchangeId] = pendingByExchange.GetValueOrDefault(exchangeId) + 1;
    }

    public void ClearTimer(int timerId)
    {
        if (RemoveTimer(timerId, out var t)) t.Timer.Dispose();
    }

    private bool RemoveTimer(int timerId, out (Timer Timer, uint Exchange) timer)
    {
        if (!timers.Remove(timerId, out timer)) return false;
        Release(timer.Exchange);
        return true;
    }
}
