namespace Blueboat.Channel;

/// <summary>The head of a request handed to a worker; the body follows as RequestBody frames, then RequestEnd.</summary>
public sealed record RequestHead(string Method, string Url, string RequestId, string ClientIp, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public void Write(FrameWriter w)
    {
        w.Str(Method).Str(Url).Str(RequestId).Str(ClientIp).U32((uint)Headers.Count);
        foreach (var (name, value) in Headers) w.Str(name).Str(value);
    }

    public static RequestHead Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var method = r.Str();
        var url = r.Str();
        var requestId = r.Str();
        var clientIp = r.Str();
        var headers = ReadHeaders(ref r);
        return new RequestHead(method, url, requestId, clientIp, headers);
    }

    internal static List<KeyValuePair<string, string>> ReadHeaders(ref FrameReader r)
    {
        var count = r.U32();
        if (count > 100_000) throw new ChannelProtocolException("too many headers in a frame");
        var headers = new List<KeyValuePair<string, string>>((int)count);
        for (var i = 0; i < count; i++) headers.Add(new(r.Str(), r.Str()));
        return headers;
    }
}

/// <summary>The head of a worker's response; each header line is kept apart (Set-Cookie stays several lines).</summary>
public sealed record ResponseHead(int Status, long BusyMicroseconds, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public void Write(FrameWriter w)
    {
        w.U16((ushort)Status).I64(BusyMicroseconds).U32((uint)Headers.Count);
        foreach (var (name, value) in Headers) w.Str(name).Str(value);
    }

    public static ResponseHead Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var status = r.U16();
        var busy = r.I64();
        return new ResponseHead(status, busy, RequestHead.ReadHeaders(ref r));
    }
}

public enum LogLevel : byte { Debug = 0, Info = 1, Warn = 2, Error = 3 }

/// <summary>A log record from app code (console.*) or from the worker runtime itself.</summary>
public sealed record LogRecord(LogLevel Level, string RequestId, string Message)
{
    public void Write(FrameWriter w) => w.U8((byte)Level).Str(RequestId).Str(Message);

    public static LogRecord Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var level = r.U8();
        if (level > (byte)LogLevel.Error) throw new ChannelProtocolException($"unknown log level {level}");
        return new LogRecord((LogLevel)level, r.Str(), r.Str());
    }
}

/// <summary>How a worker locks itself down once its app is loaded.</summary>
public enum SandboxMode : byte
{
    /// <summary>Debugging only: no seccomp filter (the supervisor warns on every start).</summary>
    Off = 0,
    On = 1,
    // Test-only probes: lock down, then attempt what the policy forbids; the filter must kill the worker.
    ProbeSocket = 2,
    ProbeOpenForWrite = 3,
    ProbeExecve = 4,
}

/// <summary>What one app may use in its worker: CPU time per request, the V8 heap, and the sandbox.</summary>
public sealed record WorkerLimits(int CpuMsPerRequest, int HeapMb, SandboxMode Sandbox = SandboxMode.On)
{
    public static readonly WorkerLimits Default = new(1000, 128);

    /// <summary>
    /// The request's wall time (the supervisor answers 504 past it); one run of JS that lasts longer
    /// (JS blocked without using CPU, as in Atomics.wait) is stopped by the worker itself, whose
    /// loop would otherwise never come back.
    /// </summary>
    public int WallMsPerRequest { get; init; } = 60_000;
}

/// <summary>
/// Binds a started worker to one app version: its files, entry module, env and limits, and the V8
/// code cache an earlier worker of the same version produced (empty when there is none yet).
/// </summary>
public sealed record LoadApp(string Name, string Version, string EntryModule, int InitBudgetMs, WorkerLimits Limits, IReadOnlyDictionary<string, string> Env, IReadOnlyDictionary<string, byte[]> Files)
{
    public IReadOnlyList<ModuleCodeCache> CodeCache { get; init; } = [];

    public void Write(FrameWriter w)
    {
        w.Str(Name).Str(Version).Str(EntryModule).U32((uint)InitBudgetMs).U32((uint)Limits.CpuMsPerRequest).U32((uint)Limits.HeapMb).U8((byte)Limits.Sandbox).U32((uint)Limits.WallMsPerRequest).U32((uint)Env.Count);
        foreach (var (k, v) in Env) w.Str(k).Str(v);
        w.U32((uint)Files.Count);
        foreach (var (path, data) in Files) w.Str(path).Bytes(data);
        ModuleCodeCache.WriteAll(w, CodeCache);
    }

    public static LoadApp Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var name = r.Str();
        var version = r.Str();
        var entry = r.Str();
        var budget = (int)r.U32();
        var limits = new WorkerLimits((int)r.U32(), (int)r.U32(), (SandboxMode)r.U8()) { WallMsPerRequest = (int)r.U32() };
        var envCount = r.U32();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < envCount; i++) env[r.Str()] = r.Str();
        var fileCount = r.U32();
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < fileCount; i++) files[r.Str()] = r.Bytes().ToArray();
        var cache = ModuleCodeCache.ReadAll(ref r);
        return new LoadApp(name, version, entry, budget, limits, env, files) { CodeCache = cache };
    }
}

/// <summary>V8 code cache data for one module of an app package, by its path in the package.</summary>
public sealed record ModuleCodeCache(string Path, byte[] Data)
{
    /// <summary>Modules one cache message may carry; an app with more gets the rest compiled from source.</summary>
    public const int MaxModules = 4096;

    public static void WriteAll(FrameWriter w, IReadOnlyList<ModuleCodeCache> modules)
    {
        w.U32((uint)modules.Count);
        foreach (var m in modules) w.Str(m.Path).Bytes(m.Data);
    }

    public static List<ModuleCodeCache> ReadAll(ref FrameReader r)
    {
        var count = r.U32();
        if (count > MaxModules) throw new ChannelProtocolException($"{count} code cache entries in one frame, more than {MaxModules}");
        var list = new List<ModuleCodeCache>((int)count);
        for (var i = 0; i < count; i++) list.Add(new ModuleCodeCache(r.Str(), r.Bytes().ToArray()));
        return list;
    }

    public static List<ModuleCodeCache> Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        return ReadAll(ref r);
    }
}

/// <summary>What became of the code cache a worker was given with its app.</summary>
public enum CodeCacheOutcome : byte
{
    /// <summary>No cache was given (the first worker of a version).</summary>
    None = 0,
    /// <summary>V8 accepted the cache of every module it was given.</summary>
    Accepted = 1,
    /// <summary>V8 refused the cache of at least one module (another V8 build, other source, damaged data); those compiled from source.</summary>
    Rejected = 2,
}

/// <summary>The worker's answer to LoadApp: ready, or the reason the app failed to initialise, and what V8 made of the code cache.</summary>
public sealed record AppLoaded(bool Ok, string Error, long InitMicroseconds, CodeCacheOutcome CodeCache = CodeCacheOutcome.None)
{
    public void Write(FrameWriter w) => w.U8(Ok ? (byte)1 : (byte)0).Str(Error).I64(InitMicroseconds).U8((byte)CodeCache);

    public static AppLoaded Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var ok = r.U8() != 0;
        var error = r.Str();
        var micros = r.I64();
        var cache = r.U8();
        if (cache > (byte)CodeCacheOutcome.Rejected) throw new ChannelProtocolException($"unknown code cache outcome {cache}");
        return new AppLoaded(ok, error, micros, (CodeCacheOutcome)cache);
    }
}

/// <summary>
/// Asks a freshly started worker to start V8 and the runtime before it is given an app; a
/// pre-started worker also runs the runtime's request path once (an idle pool worker has the
/// time; a worker started for a waiting request does not).
/// </summary>
public sealed record WarmUp(int ArrayBufferLimitMb, bool RunRequestPath)
{
    public void Write(FrameWriter w) => w.U32((uint)ArrayBufferLimitMb).U8(RunRequestPath ? (byte)1 : (byte)0);

    public static WarmUp Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        return new WarmUp((int)r.U32(), r.U8() != 0);
    }
}

/// <summary>A worker's answer to WarmUp: how long the engine and runtime took to start.</summary>
public sealed record Warmed(long WarmMicroseconds)
{
    public void Write(FrameWriter w) => w.I64(WarmMicroseconds);

    public static Warmed Read(ReadOnlySpan<byte> payload) => new(new FrameReader(payload).I64());
}

/// <summary>A fetch() from app code, for the supervisor to perform under the app's outbound policy.</summary>
public sealed record FetchRequest(uint ExchangeId, string Method, string Url, string Redirect, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public void Write(FrameWriter w)
    {
        w.U32(ExchangeId).Str(Method).Str(Url).Str(Redirect).U32((uint)Headers.Count);
        foreach (var (name, value) in Headers) w.Str(name).Str(value);
        w.Bytes(Body);
    }

    public static FetchRequest Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var exchange = r.U32();
        var method = r.Str();
        var url = r.Str();
        var redirect = r.Str();
        var headers = RequestHead.ReadHeaders(ref r);
        return new FetchRequest(exchange, method, url, redirect, headers, r.Bytes().ToArray());
    }
}

/// <summary>What a fetch produced: a response (status, final URL, headers, body) or an error message.</summary>
public sealed record FetchResponse(string? Error, int Status, string StatusText, string Url, bool Redirected, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public static FetchResponse Failed(string error) => new(error, 0, "", "", false, [], []);

    public void Write(FrameWriter w)
    {
        w.U8(Error is null ? (byte)1 : (byte)0).Str(Error ?? "").U16((ushort)Status).Str(StatusText).Str(Url).U8(Redirected ? (byte)1 : (byte)0).U32((uint)Headers.Count);
        foreach (var (name, value) in Headers) w.Str(name).Str(value);
        w.Bytes(Body);
    }

    public static FetchResponse Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var ok = r.U8() == 1;
        var error = r.Str();
        var status = r.U16();
        var statusText = r.Str();
        var url = r.Str();
        var redirected = r.U8() == 1;
        var headers = RequestHead.ReadHeaders(ref r);
        return new FetchResponse(ok ? null : error, status, statusText, url, redirected, headers, r.Bytes().ToArray());
    }
}
