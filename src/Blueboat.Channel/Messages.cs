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
}

/// <summary>Binds a started worker to one app version: its files, entry module, env and limits.</summary>
public sealed record LoadApp(string Name, string Version, string EntryModule, int InitBudgetMs, WorkerLimits Limits, IReadOnlyDictionary<string, string> Env, IReadOnlyDictionary<string, byte[]> Files)
{
    public void Write(FrameWriter w)
    {
        w.Str(Name).Str(Version).Str(EntryModule).U32((uint)InitBudgetMs).U32((uint)Limits.CpuMsPerRequest).U32((uint)Limits.HeapMb).U8((byte)Limits.Sandbox).U32((uint)Env.Count);
        foreach (var (k, v) in Env) w.Str(k).Str(v);
        w.U32((uint)Files.Count);
        foreach (var (path, data) in Files) w.Str(path).Bytes(data);
    }

    public static LoadApp Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        var name = r.Str();
        var version = r.Str();
        var entry = r.Str();
        var budget = (int)r.U32();
        var limits = new WorkerLimits((int)r.U32(), (int)r.U32(), (SandboxMode)r.U8());
        var envCount = r.U32();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < envCount; i++) env[r.Str()] = r.Str();
        var fileCount = r.U32();
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < fileCount; i++) files[r.Str()] = r.Bytes().ToArray();
        return new LoadApp(name, version, entry, budget, limits, env, files);
    }
}

/// <summary>The worker's answer to LoadApp: ready, or the reason the app failed to initialise.</summary>
public sealed record AppLoaded(bool Ok, string Error, long InitMicroseconds)
{
    public void Write(FrameWriter w) => w.U8(Ok ? (byte)1 : (byte)0).Str(Error).I64(InitMicroseconds);

    public static AppLoaded Read(ReadOnlySpan<byte> payload)
    {
        var r = new FrameReader(payload);
        return new AppLoaded(r.U8() != 0, r.Str(), r.I64());
    }
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
