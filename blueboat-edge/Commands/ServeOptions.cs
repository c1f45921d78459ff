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
    public long MaxResponseBody { get; private set; } = Blueboat.Supervisor.Workers.AppLimits.DefaultMaxResponseBody;
    public int MetadataTtlMs { get; private set; } = 5000;
    public int IdleTimeoutSecs { get; private set; } = 400;
    public int WorkerPool { get; private set; } = 2;
    public string? AdminListen { get; private set; }
    public string? AdminTokenFile { get; private set; }
    public Blueboat.Supervisor.Transport.TransportKind Transport { get; private set; } = Blueboat.Supervisor.Transport.TransportKind.IoUring;
    public bool ShowHelp { get; private set; }
    public bool ShowVersion { get; private set; }
    /// <summary>The configuration file read under the command line (--config), if any.</summary>
    public string? ConfigPath { get; private set; }
    /// <summary>How long in-flight requests may take to finish after SIGTERM.</summary>
    public int ShutdownTimeoutSecs { get; private set; } = 30;
    /// <summary>The user workers run as when the supervisor is root.</summary>
    public string WorkerUser { get; private set; } = "nobody";

    /// <summary>The command line these options came from (a reload parses it again with the file).</summary>
    public IReadOnlyList<string> CommandLine { get; private set; } = [];

    /// <summary>Every setting as given (flag name without dashes -> values), to tell what a reload changed.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Given => given.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value);

    private readonly Dictionary<string, List<string>> given = new();

    /// <summary>Settings that may appear more than once (on the command line and in the file).</summary>
    private static readonly HashSet<string> Repeatable = ["trusted-proxy", "fetch-allow"];

    /// <summary>Flags that make no sense in the file.</summary>
    private static readonly HashSet<string> CommandLineOnly = ["config", "help", "version"];

    /// <summary>
    /// Parses a command line, then the --config file under it: a flag on the command line wins over
    /// the file's setting of the same name (for a repeatable one, all the file's lines of it are skipped).
    /// <paramref name="socketsFromSystemd"/>: listening sockets were passed in, so -l is optional.
    /// </summary>
    public static ServeOptions Parse(IReadOnlyList<string> args, bool socketsFromSystemd = false)
    {
        var o = new ServeOptions { CommandLine = args.ToArray() };
        var r = new ArgReader(args);
        while (r.Next())
        {
            if (!o.Apply(r)) return o;
        }
        var fromCommandLine = o.given.Keys.ToHashSet();
        if (o.ConfigPath is { } path)
        {
            var seen = new Dictionary<string, int>();
            foreach (var entry in ConfigFile.Read(path))
            {
                if (CommandLineOnly.Contains(entry.Key))
                    throw new UsageException($"{path}:{entry.Line}: {entry.Key} can only be given on the command line");
                if (!Repeatable.Contains(entry.Key) && seen.TryGetValue(entry.Key, out var first))
                    throw new UsageException($"{path}:{entry.Line}: {entry.Key} is already set on line {first}");
                seen.TryAdd(entry.Key, entry.Line);
                if (fromCommandLine.Contains(entry.Key)) continue;
                try
                {
                    var er = new ArgReader(entry.Value is null ? ["--" + entry.Key] : ["--" + entry.Key, entry.Value]);
                    er.Next();
                    if (!o.Apply(er) || er.Next())
                        throw new UsageException(entry.Value is null ? $"--{entry.Key} needs a value" : $"{entry.Key} takes no value (write the name alone)");
                }
                catch (UsageException e)
                {
                    throw new UsageException($"{path}:{entry.Line}: {e.Message}");
                }
            }
        }
        o.Validate(socketsFromSystemd);
        return o;
    }

    /// <summary>Applies the flag under the reader; false for --help and --version (parsing stops there).</summary>
    private bool Apply(ArgReader r)
    {
        var start = r.Position;
        var key = (r.Current == "-l" ? "--listen" : r.Current).TrimStart('-');
        if (!ApplyFlag(r)) return false;
        if (!given.TryGetValue(key, out var values)) given[key] = values = new();
        values.Add(string.Join(" ", r.Consumed(start)));
        return true;
    }

    private bool ApplyFlag(ArgReader r)
    {
        var o = this;
        {
            if (o.Store.TryRead(r)) return true;
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
                case "--max-response-body":
                    o.MaxResponseBody = r.Number(0, 1L << 30, o.MaxResponseBody);
                    break;
                case "--metadata-ttl-ms":
                    o.MetadataTtlMs = (int)r.Number(0, 3_600_000, o.MetadataTtlMs);
                    break;
                case "--idle-timeout-secs":
                    o.IdleTimeoutSecs = (int)r.Number(1, 86_400 * 30, o.IdleTimeoutSecs);
                    break;
                case "--worker-pool":
                    o.WorkerPool = (int)r.Number(0, 256, o.WorkerPool);
                    break;
                case "--admin-listen":
                    o.AdminListen = r.OptionalValue();
                    break;
                case "--admin-token-file":
                    o.AdminTokenFile = r.OptionalValue();
                    break;
                case "--config":
                    o.ConfigPath = r.OptionalValue();
                    break;
                case "--worker-user":
                    o.WorkerUser = r.OptionalValue() ?? "nobody";
                    break;
                case "--shutdown-timeout-secs":
                    o.ShutdownTimeoutSecs = (int)r.Number(0, 3600, o.ShutdownTimeoutSecs);
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
                    return false;
                case "-V" or "--version":
                    o.ShowVersion = true;
                    return false;
                default:
                    throw r.Unknown();
            }
        }
        return true;
    }

    private void Validate(bool socketsFromSystemd)
    {
        var o = this;
        if (o.Listen is null && !socketsFromSystemd) throw new UsageException("serve needs -l ADDR:PORT (or listening sockets from systemd)");
        o.Store.Validate();
        var sources = (o.SingleTenant is null ? 0 : 1) + (o.AppDirectory is null ? 0 : 1) + (o.Store.IsSet ? 1 : 0);
        if (sources != 1)
            throw new UsageException("serve needs exactly one of --single-tenant PATH, --app DIR, --store DIR or --s3-bucket NAME");
        if (o.AdminTokenFile is not null && !o.Store.IsSet)
            throw new UsageException("--admin-token-file needs a store (--store DIR or --s3-bucket): the token guards deploys");
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
    }

    public static IPEndPoint ParseEndpoint(string value)
    {
        var lastColon = value.LastIndexOf(':');
        if (lastColon <= 0 || lastColon == value.Length - 1 || !IPEndPoint.TryParse(value, out var ep))
            throw new UsageException($"\"{value}\" is not ADDR:PORT (an IP address and a port, e.g. 127.0.0.1:3000)");
        return ep;
    }
}
