using System.Reflection;
using Blueboat.Apps;
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
    private readonly V8Script dispatchScript;
    private AppPackage? package;

    public JsEngine(IRuntimeHost host, ulong maxArrayBufferBytes = ulong.MaxValue)
    {
        var constraints = new V8RuntimeConstraints { MaxArrayBufferAllocation = maxArrayBufferBytes };
        engine = new V8ScriptEngine(constraints, V8ScriptEngineFlags.DisableGlobalMembers | V8ScriptEngineFlags.EnableDynamicModuleImports);
        new HostOperations(host, () => package).Install(engine);
        engine.Execute(new DocumentInfo("blueboat:runtime.js"), RuntimeBundle.Source);
        dispatchScript = engine.Compile("__bb_dispatch()");
    }

    /// <summary>
    /// Gives the runtime the app's env and files, then evaluates its entry module. With a
    /// top-level await the evaluation finishes later; the runtime reports it through AppReady.
    /// </summary>
    public void LoadApp(AppPackage appPackage, string entryModule, string envJson)
    {
        package = appPackage;
        engine.DocumentSettings.Loader = new PackageModuleLoader(appPackage);
        // The token proves to the runtime that the app namespace comes from this entry module,
        // which app code cannot read, and not from app code calling the internal hook itself.
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        // Calls go through script text: ClearScript's dynamic invocation needs reflection AOT lacks.
        engine.Execute(new DocumentInfo("blueboat:bootstrap.js"), $"__bb_bootstrap({JsString(envJson)}, {JsString(token)});");
        var entry = PackageModuleLoader.UriFor("__entry__.mjs");
        var specifier = "./" + entryModule;
        engine.Execute(new DocumentInfo(entry) { Category = ModuleCategory.Standard },
            $"import * as app from {JsString(specifier)};\n__bb_set_app_module(app, {JsString(token)});\n");
    }

    private static string JsString(string value) => System.Text.Json.JsonSerializer.Serialize(value, RuntimeJson.Default.String);

    /// <summary>Caps the V8 heap; past it the engine refuses further calls and the worker must be replaced.</summary>
    public void SetHeapLimit(int megabytes)
    {
        engine.MaxRuntimeHeapSize = (UIntPtr)((ulong)megabytes * 1024 * 1024);
        engine.RuntimeHeapSizeSampleInterval = TimeSpan.FromMilliseconds(5);
    }

    /// <summary>Runs the runtime's dispatcher for the event the host currently exposes.</summary>
    public void Dispatch() => engine.Evaluate(dispatchScript);

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
