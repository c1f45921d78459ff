using System.Runtime.InteropServices;
using System.Text;
using Blueboat.Apps;
using Blueboat.Store;
using Blueboat.Supervisor.Admin;
using Blueboat.Supervisor.Hosting;
using Blueboat.Supervisor.Http;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Tenancy;
using Blueboat.Supervisor.Workers;

namespace Blueboat.Edge.Commands;

/// <summary>`serve`: pick where apps come from, start the HTTP listener (and the admin one), run until SIGTERM or SIGINT.</summary>
public static class ServeCommand
{
    public static int Run(ServeOptions options)
    {
        var log = EdgeLog.Console();
        ProcessLimits.RaiseOpenFiles(); // an edge box holds many idle client connections
        ProcessLimits.GuardAgainstOwnWorkers();
        using var memory = MemoryCgroup.Create(options.WorkerMemoryMb * 1024L * 1024, log);
        using var launcher = new WorkerLauncher(Environment.ProcessPath ?? "/proc/self/exe") { Memory = memory };
        using var fetch = new Blueboat.Supervisor.Outbound.FetchProxy(new Blueboat.Supervisor.Outbound.OutboundPolicy(options.FetchAllow), log);
        // One app needs at most one spare worker (it replaces a crashed one fast); many apps need more.
        var poolSize = options.Store.IsSet ? options.WorkerPool : Math.Min(options.WorkerPool, 1);
        using var pool = poolSize > 0 ? new WorkerPool(new WorkerServices(launcher, log, fetch), poolSize, options.HeapLimitMb) : null;
        pool?.Start(); // warms up in the background while the listener starts
        var services = new WorkerServices(launcher, log, fetch) { Pool = pool, CodeCache = new CodeCacheStore(CodeCacheBytes) };
        var limits = new AppLimits(TimeSpan.FromMilliseconds(options.InitBudgetMs),
            new Blueboat.Channel.WorkerLimits(options.CpuLimitMs, options.HeapLimitMb, options.Sandbox), TimeSpan.FromMilliseconds(options.WallLimitMs),
            options.MaxConcurrentRequests);
        if (options.Sandbox == Blueboat.Channel.SandboxMode.Off)
            log.Warn("seccomp is disabled (--dangerously-disable-seccomp): workers run without their syscall filter; use this for debugging only");
        var disposables = new List<IDisposable>();
        IAppResolver resolver;
        StoreAppResolver? storeApps = null;
        string source;
        try
        {
            if (options.Store.IsSet)
            {
                var store = options.Store.Open();
                if (store is IDisposable d) disposables.Add(d);
                storeApps = new StoreAppResolver(store, services, new StoreOptions(
                    TimeSpan.FromMilliseconds(options.MetadataTtlMs), TimeSpan.FromSeconds(options.IdleTimeoutSecs), limits));
                disposables.Add(storeApps);
                resolver = storeApps;
                source = store.Description;
            }
            else
            {
                var app = options.SingleTenant is { } metadata
                    ? AppBundle.FromMetadataFile(metadata)
                    : AppBundle.FromDirectory(options.AppDirectory!);
                var host = new AppHost(app, services, limits.With(app.Limits));
                disposables.Add(host);
                resolver = new SingleAppResolver(host);
                source = $"app {app.Name} {app.Version}";
            }
        }
        catch (Exception e) when (e is AppLoadException or StoreException)
        {
            Console.Error.WriteLine($"blueboat-edge: cannot load the app: {e.Message}");
            return 1;
        }

        try
        {
            var application = new EdgeHttpApplication(resolver, log, new EdgeHttpOptions(options.MaxRequestBody), new TrustedProxies(options.TrustedProxies));
            var server = new EdgeServer(k => k.Listen(options.Listen!), application, log)
            {
                RequestHeadersTimeout = TimeSpan.FromMilliseconds(options.HeaderTimeoutMs),
            };
            EdgeServer? admin = null;

            using var stop = new CancellationTokenSource();
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

            try
            {
                server.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
                if (options.AdminListen is { } adminAddress)
                {
                    var token = ReadToken(options.AdminTokenFile!);
                    admin = new EdgeServer(k =>
                    {
                        if (adminAddress.StartsWith("unix:", StringComparison.Ordinal)) k.ListenUnixSocket(adminAddress[5..]);
                        else k.Listen(ServeOptions.ParseEndpoint(adminAddress));
                    }, new AdminHttpApplication(storeApps!, token, log) { Pool = pool }, log);
                    admin.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
                    log.Info("admin endpoint listening", ("address", string.Join(" ", admin.Addresses)));
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                Console.Error.WriteLine($"blueboat-edge: cannot listen: {e.Message}");
                return 1;
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"blueboat-edge: {e.Message}");
                return 1;
            }
            log.Info("listening", ("address", string.Join(" ", server.Addresses)), ("apps", source), ("pid", Environment.ProcessId),
                ("worker_pool", poolSize));

            stop.Token.WaitHandle.WaitOne();
            log.Info("stopping");
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                server.StopAsync(deadline.Token).GetAwaiter().GetResult();
                admin?.StopAsync(deadline.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) { }
            return 0;
        }
        finally
        {
            foreach (var d in disposables) d.Dispose();
        }
    }

    /// <summary>Memory for the V8 code cache of app versions (a small app's is a few KB).</summary>
    private const long CodeCacheBytes = 64L * 1024 * 1024;

    private static byte[] ReadToken(string path)
    {
        string token;
        try { token = File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"--admin-token-file: cannot read {path}: {e.Message}"); }
        if (token.Length < 16) throw new UsageException($"--admin-token-file: the token in {path} is shorter than 16 characters");
        return Encoding.UTF8.GetBytes(token);
    }
}

/// <summary>Process-wide resource limits the supervisor needs.</summary>
internal static partial class ProcessLimits
{
    private const int RlimitNofile = 7;

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Max;
    }

    /// <summary>Raises the soft open-files limit to the hard one (systemd and shells default to 1024).</summary>
    public static void RaiseOpenFiles()
    {
        if (GetRlimit(RlimitNofile, out var limit) == 0 && limit.Current < limit.Max)
        {
            limit.Current = limit.Max;
            SetRlimit(RlimitNofile, in limit);
        }
    }

    /// <summary>
    /// Without root, workers run as the supervisor's own user; a supervisor that is not dumpable
    /// keeps them out of its /proc entries (its memory holds every app's metadata and env).
    /// </summary>
    public static void GuardAgainstOwnWorkers()
    {
        const int PrSetDumpable = 4;
        if (GetEuid() != 0) Prctl(PrSetDumpable, 0, 0, 0, 0);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nuint a2, nuint a3, nuint a4, nuint a5);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRlimit(int resource, out Rlimit limit);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setrlimit")]
    private static partial int SetRlimit(int resource, in Rlimit limit);
}
