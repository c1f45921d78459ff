using System.Runtime.InteropServices;
using Microsoft.ClearScript.V8;

namespace Blueboat.Runtime.Glue;

/// <summary>
/// V8 flags the platform needs and ClearScript has no setting for. They go through V8's own flag
/// setter (v8::V8::SetFlagsFromString), which the V8 library ClearScript ships exports, before
/// the process makes its first isolate (V8 freezes its flags then).
/// </summary>
public static unsafe class V8Flags
{
    /// <summary>
    /// No memory reducer: in an idle isolate it runs a full collection every 100 s on a background
    /// thread, which costs about 70 ms of CPU and maps back about 7 MB of the V8 library and marking
    /// space in every idle worker. The worker does its own full collection once it goes quiet.
    /// </summary>
    public const string Platform = "--no-memory-reducer";

    private const string Library = "ClearScriptV8.linux-x64.so";
    private const string SetFlagsFromString = "_ZN2v82V818SetFlagsFromStringEPKc"; // v8::V8::SetFlagsFromString(const char*)

    private static readonly Lock Gate = new();
    private static bool attempted; // process-wide, as V8's flags are: set once, before any isolate
    private static string? failure;

    /// <summary>
    /// Sets <see cref="Platform"/> the first time it is called in a process, which must be before
    /// the first isolate (<see cref="JsEngine"/> calls it first thing; V8 makes its flags read-only
    /// once it starts). Returns null when the flags are set, else why they could not be; V8 then
    /// runs with its defaults, which work, only with more memory held by idle workers.
    /// </summary>
    public static string? ApplyOnce()
    {
        lock (Gate)
        {
            if (attempted) return failure;
            attempted = true;
            failure = Apply();
            return failure;
        }
    }

    private static string? Apply()
    {
        if (!NativeLibrary.TryLoad(Library, typeof(V8ScriptEngine).Assembly, null, out var library))
            return $"{Library} could not be loaded";
        if (!NativeLibrary.TryGetExport(library, SetFlagsFromString, out var setter))
            return $"{Library} exports no v8::V8::SetFlagsFromString";
        var flags = Marshal.StringToCoTaskMemUTF8(Platform);
        try { ((delegate* unmanaged<nint, void>)setter)(flags); }
        finally { Marshal.FreeCoTaskMem(flags); }
        return null;
    }
}
