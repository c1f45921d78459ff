using System.Reflection;
using Blueboat.Apps;
using Blueboat.Channel;
using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;
using Microsoft.ClearScript.V8;

namespace Blueboat.Runtime.Glue;

/// <summary>
/// One V8 engine with the runtime layer loaded: the only place that touches ClearScript. All calls
/// come from one thread (the worker's event loop); <see cref="Interrupt"/> may come from any.
/// </summary>
public sealed class JsEngine : IDisposable
{
    private readonly V8ScriptEngine engine;
    private readonly IRuntimeHost host;
    // The runtime's dispatcher, called as a function: a compiled script would be bound to the
    // context anew on every run (a new function object, with no feedback for its lookups), about a
    // tenth of a hello-world worker's CPU. Taken as a value, not as a property of the global, so
    // ClearScript calls it directly rather than through its reflection-based method path (which
    // Native AOT cannot run).
    private readonly ScriptObject dispatchFunction;
    private readonly ScriptObject takeAnswerFunction; // the answer of a dispatch that then failed (see Dispatch)
    private AppPackage? package;
    private PackageModuleLoader? loader;
    private readonly List<V8Script> precompiled = new(); // modules compiled from their code cache, kept for the engine's life

    public JsEngine(IRuntimeHost host, ulong maxArrayBufferBytes = ulong.MaxValue)
    {
        this.host = host;
        // V8's own heap sizes stay its defaults: a small old-space limit made it collect far more
        // often (measured); the heap limit is the host's to keep (WatchHeap, MeasureHeap).
        var constraints = new V8RuntimeConstraints { MaxArrayBufferAllocation = maxArrayBufferBytes };
        engine = new V8ScriptEngine(constraints, V8ScriptEngineFlags.DisableGlobalMembers | V8ScriptEngineFlags.EnableDynamicModuleImports);
        new HostOperations(host, () => package).Install(engine);
        engine.Execute(new DocumentInfo("blueboat:runtime.js"), RuntimeBundle.Source);
        dispatchFunction = engine.Evaluate("__bb_dispatch") as ScriptObject
            ?? throw new InvalidOperationException("the runtime bundle did not define its dispatcher");
        takeAnswerFunction = engine.Evaluate("__bb_take_answer") as ScriptObject
            ?? throw new InvalidOperationException("the runtime bundle did not define its answer hand-over");
        // Held by the host alone: no app can feed the dispatcher events or take its answers.
        engine.Execute("delete globalThis.__bb_dispatch; delete globalThis.__bb_take_answer");
    }

    /// <summary>
    /// Gives the runtime the app's env and files, then evaluates its entry module. With a
    /// top-level await the evaluation finishes later; the runtime reports it through AppReady.
    /// Modules with an entry in <paramref name="codeCache"/> are compiled from it first (V8 checks
    /// that it matches the source and this V8 build, and compiles from source where it does not).
    /// </summary>
    public CodeCacheOutcome LoadApp(AppPackage appPackage, string entryModule, string envJson, IReadOnlyList<ModuleCodeCache>? codeCache = null)
    {
        package = appPackage;
        loader = new PackageModuleLoader(appPackage);
        engine.DocumentSettings.Loader = loader;
        var outcome = CompileFromCache(codeCache ?? []);
        // The token proves to the runtime that the app namespace comes from this entry module,
        // which app code cannot read, and not from app code calling the internal hook itself.
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        // Calls go through script text: ClearScript's dynamic invocation needs reflection AOT lacks.
        engine.Execute(new DocumentInfo("blueboat:bootstrap.js"), $"__bb_bootstrap({JsString(envJson)}, {JsString(token)});");
        var entry = PackageModuleLoader.UriFor("__entry__.mjs");
        var specifier = "./" + entryModule;
        engine.Execute(new DocumentInfo(entry) { Category = ModuleCategory.Standard },
            $"import * as app from {JsString(specifier)};\n__bb_set_app_module(app, {JsString(token)});\n");
        return outcome;
    }

    /// <summary>
    /// Compiles each cached module ahead of its import: ClearScript keeps the compiled module by
    /// document and code, so the import that follows finds it instead of compiling the source.
    /// </summary>
    private CodeCacheOutcome CompileFromCache(IReadOnlyList<ModuleCodeCache> codeCache)
    {
        if (codeCache.Count == 0) return CodeCacheOutcome.None;
        var allAccepted = true;
        foreach (var module in codeCache)
        {
            if (module.Data.Length == 0 || loader!.DocumentFor(module.Path) is not { } doc)
            {
                allAccepted = false; // no data, or cache for a file this package does not have
                continue;
            }
            try
            {
                precompiled.Add(engine.Compile(doc.Document.Info, doc.Code, V8CacheKind.Code, module.Data, out var accepted));
                allAccepted &= accepted;
            }
            catch (ScriptEngineException)
            {
                // Not compilable as a module: its import reports the error with the app's context.
                allAccepted = false;
            }
        }
        return allAccepted ? CodeCacheOutcome.Accepted : CodeCacheOutcome.Rejected;
    }

    /// <summary>
    /// V8 code cache for every module the app has loaded so far. Made after the app has run a
    /// while, it also holds the functions compiled since (not only the eagerly compiled ones).
    /// </summary>
    public List<ModuleCodeCache> ProduceCodeCache()
    {
        var produced = new List<ModuleCodeCache>();
        if (loader is null) return produced;
        foreach (var (path, document, code) in loader.Loaded)
        {
            if (produced.Count == ModuleCodeCache.MaxModules) break;
            try
            {
                using var script = engine.Compile(document.Info, code, V8CacheKind.Code, out var bytes);
                if (bytes is { Length: > 0 }) produced.Add(new ModuleCodeCache(path, bytes));
            }
            catch (ScriptEngineException)
            {
                // A module that failed to compile has no cache; the others still do.
            }
        }
        return produced;
    }

    private static string JsString(string value) => System.Text.Json.JsonSerializer.Serialize(value, RuntimeJson.Default.String);

    /// <summary>
    /// Turns ClearScript's heap watch on (<paramref name="megabytes"/>) or off (null). While on, it
    /// measures the heap at every entry into JS and every 50 ms of running JS; past the limit (after
    /// a full collection) the engine refuses further calls and the worker must be replaced.
    /// </summary>
    public void WatchHeap(int? megabytes)
    {
        engine.MaxRuntimeHeapSize = (UIntPtr)((ulong)(megabytes ?? 0) * 1024 * 1024);
    }

    /// <summary>The V8 heap's committed size and the external (ArrayBuffer) memory it accounts for, in bytes.</summary>
    public (long Total, long External) MeasureHeap()
    {
        var info = engine.GetRuntimeHeapInfo();
        return ((long)info.TotalHeapSize, (long)info.TotalExternalSize);
    }

    /// <summary>Compiles the runtime's request path ahead of any app (see <see cref="RuntimeWarmUp"/>).</summary>
    public void WarmUp()
    {
        engine.Execute(new DocumentInfo("blueboat:warmup.js"), RuntimeWarmUp.Script);
        // Module loading through a document loader, once, on modules of our own (apps get their own loader and documents).
        engine.DocumentSettings.Loader = new PackageModuleLoader(new AppPackage(RuntimeWarmUp.Modules()));
        engine.Execute(new DocumentInfo(PackageModuleLoader.UriFor("__warm__/entry.mjs")) { Category = ModuleCategory.Standard }, RuntimeWarmUp.EntryModule);
        // What LoadApp uses for the first time otherwise: the random source (.NET loads OpenSSL on
        // first use, milliseconds) and the JSON writer of the bootstrap call.
        System.Security.Cryptography.RandomNumberGenerator.GetBytes(16);
        _ = JsString("warm");
    }

    /// <summary>
    /// Runs the runtime's dispatcher for <paramref name="event"/> (as <see cref="RuntimeEvents"/>
    /// describes it), given as the call's argument: cheaper than a host call from JS to fetch it.
    /// </summary>
    public void Dispatch(string @event)
    {
        object result;
        try
        {
            result = dispatchFunction.InvokeAsFunction(@event);
        }
        catch (Exception e) when (e is ScriptEngineException or ScriptInterruptedException)
        {
            // The call can fail after the handler answered (its microtasks ran out of CPU, say):
            // that answer was given, so it still goes out. An engine past its heap limit refuses.
            try
            {
                if (takeAnswerFunction.InvokeAsFunction() is string given) RespondFromReturn(given);
            }
            catch (Exception again) when (again is ScriptEngineException or ScriptInterruptedException) { }
            throw;
        }
        if (result is string answer) RespondFromReturn(answer);
    }

    /// <summary>
    /// The answer a request's handler gave within its own dispatch comes back as the dispatcher's
    /// return value (one host call fewer per request): "exchange\nstatus\nheader lines\0body", the
    /// body a binary string (dispatch.js).
    /// </summary>
    private void RespondFromReturn(string answer)
    {
        var text = answer.AsSpan();
        var idEnd = text.IndexOf('\n');
        var statusEnd = idEnd < 0 ? -1 : text[(idEnd + 1)..].IndexOf('\n') + idEnd + 1;
        var headersEnd = text.IndexOf('\0');
        if (idEnd <= 0 || statusEnd <= idEnd || headersEnd < statusEnd
            || !uint.TryParse(text[..idEnd], System.Globalization.NumberStyles.None, null, out var exchange)
            || !int.TryParse(text[(idEnd + 1)..statusEnd], System.Globalization.NumberStyles.None, null, out var status))
        {
            // The runtime's own bug, never an app's to trigger: the exchange stays open, and the
            // worker answers it as one its handler never answered.
            host.Log(LogLevel.Error, "", "the runtime's dispatcher returned a malformed answer");
            return;
        }
        var bodyText = text[(headersEnd + 1)..];
        var body = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, bodyText.Length));
        try
        {
            var length = System.Text.Encoding.Latin1.GetBytes(bodyText, body);
            host.Respond(exchange, status, text[(statusEnd + 1)..headersEnd].ToString(), body.AsSpan(0, length));
        }
        catch (ArgumentException e)
        {
            // What a host call would have thrown back into JS (which then answers with its 500 page).
            host.Log(LogLevel.Error, "", $"the response to exchange {exchange} could not be sent: {e.Message}");
            host.Respond(exchange, 500, "content-type\ntext/plain; charset=utf-8", "the app's response could not be sent"u8);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>A full, exhaustive collection: V8 frees what it can and returns free pages to the system.</summary>
    public void CollectGarbage() => engine.CollectGarbage(exhaustive: true);

    /// <summary>Stops running JS as soon as possible; safe from any thread.</summary>
    public void Interrupt() => engine.Interrupt();

    public void Dispose() => engine.Dispose();
}

/// <summary>The runtime layer's JS, bundled from js/ at build time and embedded in this assembly.</summary>
public static class RuntimeBundle
{
    public static string Source { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(RuntimeBundle).Assembly.GetManifestResourceStream("runtime.bundle.js")
            ?? throw new InvalidOperationException("runtime.bundle.js is not embedded; the build did not bundle js/");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
