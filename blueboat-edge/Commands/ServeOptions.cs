using System.Net;
using Blueboat.Supervisor.Http;

namespace Blueboat.Edge.Commands;

/// <summary>The flags of `serve`, parsed strictly: an unknown flag or a bad value is a usage error.</summary>
public sealed class ServeOptions
{
    public IPEndPoint? Listen { get; private set; }
    public string? SingleTenant { get; private set; }
    public string? AppDirectory { get; private set; }
    public StoreFlags Store { get; } = new();
    public List<IPNetwork> TrustedProxies { get; } = new();
    public List<IPNetwork> FetchAllow { get; } = new();
    public int InitBudgetMs { get; private set; } = 3000;
    public int CpuLimitMs { get; private set; } = 1000;
    public int HeapLimitMb { get; private set; } = 128;
    public int WallLimitMs { get; private set; } = 60_000;
    public int HeaderTimeoutMs { get; private set; } = 10_000;
    public int WorkerMemoryMb { get; private set; } = 512;
    public int MaxConcurrentRequests { get; private set; } = 512;
    public Blueboat.Channel.SandboxMode Sandbox { get; private set; } = Blueboat.Channel.SandboxMode.On;
    public long MaxRequestBody { get; private set; } = 64L * 1024 * 1024;
    public int MetadataTtlMs { get; private set; } = 5000;
    public int IdleTimeoutSecs { get; private set; } = 400;
    public string? AdminListen { get; private set; }
    public string? AdminTokenFile { get; private set; }
    public Blueboat.Supervisor.Transport.TransportKind Transport { get; private set; } = Blueboat.Supervisor.Transport.TransportKind.IoUring;
    public bool ShowHelp { get; private set; }
    public bool ShowVersion { get; private set; }

    public static ServeOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ServeOptions();
        var r = new ArgReader(args);
        while (r.Next())
        {
            if (o.Store.TryRead(r)) continue;
            switch (r.Current)
            {
                case "-l" or "--listen":
                    o.Listen = r.OptionalValue() is { } l ? ParseEndpoint(l) : null;
                    break;
                case "--single-tenant":
                    if (o.SingleTenant is not null) throw new UsageException("--single-tenant given twice");
                    o.SingleTenant = r.OptionalValue();
                    break;
                case "--app":
                    if (o.AppDirectory is not null) throw new UsageException("--app given twice");
                    o.AppDirectory = r.OptionalValue();
                    break;
                case "--trusted-proxy":
                    if (r.OptionalValue() is { } cidr)
                    {
                        try { o.TrustedProxies.Add(Supervisor.Http.TrustedProxies.ParseCidr(cidr)); }
                        catch (FormatException e) { throw new UsageException($"--trusted-proxy: {e.Message}"); }
                    }
                    break;
                case "--fetch-allow":
                    if (r.OptionalValue() is { } allow)
                    {
                        try { o.FetchAllow.Add(Supervisor.Http.TrustedProxies.ParseCidr(allow)); }
                        catch (FormatException e) { throw new UsageException($"--fetch-allow: {e.Message}"); }
                    }
                    break;
                case "--init-budget-ms":
                    o.InitBudgetMs = (int)r.Number(1, 600_000, o.InitBudgetMs);
                    break;
                case "--cpu-limit-ms":
                    o.CpuLimitMs = (int)r.Number(1, 600_000, o.CpuLimitMs);
                    break;
                case "--heap-limit-mb":
                    o.HeapLimitMb = (int)r.Number(16, 16_384, o.HeapLimitMb);
                    break;
                case "--wall-limit-ms":
                    o.WallLimitMs = (int)r.Number(1, 3_600_000, o.WallLimitMs);
                    break;
                case "--max-concurrent-requests":
                    o.MaxConcurrentRequests = (int)r.Number(1, 100_000, o.MaxConcurrentRequests);
                    break;
                case "--worker-memory-mb":
                    o.WorkerMemoryMb = (int)r.Number(64, 65_536, o.WorkerMemoryMb);
                    break;
                case "--header-timeout-ms":
                    o.HeaderTimeoutMs = (int)r.Number(100, 600_000, o.HeaderTimeoutMs);
                    break;
                case "--dangerously-disable-seccomp":
                    o.Sandbox = Blueboat.Channel.SandboxMode.Off;
                    break;
                case "--sandbox-probe": // hidden, for the sandbox's own tests
                    o.Sandbox = r.Value() switch
                    {
                        "socket" => Blueboat.Channel.SandboxMode.ProbeSocket,
                        "open-write" => Blueboat.Channel.SandboxMode.ProbeOpenForWrite,
                        "execve" => Blueboat.Channel.SandboxMode.ProbeExecve,
                        var v => throw new UsageException($"--sandbox-probe: \"{v}\" is not socket, open-write or execve"),
                    };
                    break;
                case "--max-request-body":
                    o.MaxRequestBody = r.Number(0, 1L << 30, o.MaxRequestBody);
                    break;
                case "--metadata-ttl-ms":
                    o.MetadataTtlMs = (int)r.Number(0, 3_600_000, o.MetadataTtlMs);
                    break;
                case "--idle-timeout-secs":
                    o.IdleTimeoutSecs = (int)r.Number(1, 86_400 * 30, o.IdleTimeoutSecs);
                    break;
                case "--admin-listen":
                    o.AdminListen = r.OptionalValue();
                    break;
                case "--admin-token-file":
                    o.AdminTokenFile = r.OptionalValue();
                    break;
                case "--transport":
                    o.Transport = r.OptionalValue() switch
                    {
                        null or "io-uring" => Blueboat.Supervisor.Transport.TransportKind.IoUring,
                        "socket" => Blueboat.Supervisor.Transport.TransportKind.Socket,
                        var v => throw new UsageException($"--transport: \"{v}\" is not io-uring or socket"),
                    };
                    break;
                case "-h" or "--help":
                    o.ShowHelp = true;
                    return o;
                case "-V" or "--version":
                    o.ShowVersion = true;
                    return o;
                default:
                    throw r.Unknown();
            }
        }

        if (o.Listen is null) throw new UsageException("serve needs -l ADDR:PORT");
        o.Store.Validate();
        var sources = (o.SingleTenant is null ? 0 : 1) + (o.AppDirectory is null ? 0 : 1) + (o.Store.IsSet ? 1 : 0);
        if (sources != 1)
            throw new UsageException("serve needs exactly one of --single-tenant PATH, --app DIR, --store DIR or --s3-bucket NAME");
        if (o.AdminListen is not null && o.AdminTokenFile is null)
            throw new UsageException("--admin-listen needs --admin-token-file FILE (the bearer token)");
        if (o.AdminListen is not null && !o.Store.IsSet)
            throw new UsageException("--admin-listen needs a store (--store DIR or --s3-bucket)");
        if (o.WorkerMemoryMb < o.HeapLimitMb + 64)
            throw new UsageException($"--worker-memory-mb ({o.WorkerMemoryMb}) must exceed --heap-limit-mb ({o.HeapLimitMb}) by at least 64 for the runtime itself");
        if (o.AdminTokenFile is not null && o.AdminListen is null)
            throw new UsageException("--admin-token-file needs --admin-listen");
        if (o.AdminListen is { } unix && unix.StartsWith("unix:", StringComparison.Ordinal) && !Path.IsPathFullyQualified(unix[5..]))
            throw new UsageException("--admin-listen unix:PATH needs an absolute PATH");
        if (o.AdminListen is not null && !o.AdminListen.StartsWith("unix:", StringComparison.Ordinal))
        {
            var ep = ParseEndpoint(o.AdminListen);
            if (ep.Address.IsIPv4MappedToIPv6) ep = new IPEndPoint(ep.Address.MapToIPv4(), ep.Port);
            o.AdminListen = ep.ToString();
            if (!IPAddress.IsLoopback(ep.Address))
                throw new UsageException("--admin-listen takes a loopback ADDR:PORT or unix:PATH");
        }
        return o;
    }

    public static IPEndPoint ParseEndpoint(string value)
    {
        var lastColon = value.LastIndexOf(':');
        if (lastColon <= 0 || lastColon == value.Length - 1 || !IPEndPoint.TryParse(value, out var ep))
            throw new UsageException($"\"{value}\" is not ADDR:PORT (an IP address and a port, e.g. 127.0.0.1:3000)");
        return ep;
    }
}
