using System.Runtime.InteropServices;
using System.Text;
using Blueboat.Apps;
using Blueboat.Store;
using Blueboat.Supervisor.Admin;
using Blueboat.Supervisor.Hosting;
using Blueboat.Supervisor.Hosting.Systemd;
using Blueboat.Supervisor.Metrics;
using Blueboat.Supervisor.Http;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Tenancy;
using Blueboat.Supervisor.Workers;

namespace Blueboat.Edge.Commands;

/// <summary>
/// `serve`: pick where apps come from, start the HTTP listener (and the admin one), tell systemd
/// when ready, reload on SIGHUP, run until SIGTERM or SIGINT and then drain.
/// </summary>
public static class ServeCommand
{
    public static int Run(ServeOptions options, ListenFds inherited)
    {
        var log = EdgeLog.Console();
        var metrics = new EdgeMetrics();
        ProcessLimits.RaiseOpenFiles(); // an edge box holds many idle client connections
        ProcessLimits.GuardAgainstOwnWorkers();
        using var memory = MemoryCgroup.Create(options.WorkerMemoryMb * 1024L * 1024, log);
        if (SystemUsers.Find(options.WorkerUser) is not { } workerUser)
        {
            Console.Error.WriteLine($"blueboat-edge: --worker-user: no user named \"{options.WorkerUser}\"");
            return 1;
        }
        using var launcher = new WorkerLauncher(Environment.ProcessPath ?? "/proc/self/exe") { Memory = memory, WorkerUser = workerUser };
        using var fetch = new Blueboat.Supervisor.Outbound.FetchProxy(new Blueboat.Supervisor.Outbound.OutboundPolicy(options.FetchAllow), log);
        // One app needs at most one spare worker (it replaces a crashed one fast); many apps need more.
        var poolSize = options.Store.IsSet ? options.WorkerPool : Math.Min(options.WorkerPool, 1);
        using var pool = poolSize > 0 ? new WorkerPool(new WorkerServices(launcher, log, fetch) { Metrics = metrics }, poolSize, options.HeapLimitMb) : null;
        pool?.Start(); // warms up in the background while the listener starts
        var services = new WorkerServices(launcher, log, fetch) { Pool = pool, CodeCache = new CodeCacheStore(CodeCacheBytes), Metrics = metrics };
        var limits = new AppLimits(TimeSpan.FromMilliseconds(options.InitBudgetMs),
            new Blueboat.Channel.WorkerLimits(options.CpuLimitMs, options.HeapLimitMb, options.Sandbox) { WallMsPerRequest = options.WallLimitMs },
            options.MaxConcurrentRequests) { MaxResponseBody = options.MaxResponseBody };
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
            var application = new EdgeHttpApplication(resolver, log, new EdgeHttpOptions(options.MaxRequestBody), new TrustedProxies(options.TrustedProxies), metrics);
            var transport = Blueboat.Supervisor.Transport.TransportSelector.Choose(options.Transport, log);
            var server = new EdgeServer(k =>
            {
                if (options.Listen is { } address) k.Listen(address);
                // Sockets systemd bound for us (blueboat-edge.socket): served as they are.
                foreach (var fd in inherited.Sockets) k.ListenHandle((ulong)fd.Descriptor);
            }, application, log)
            {
                Transport = transport.Create,
                RequestHeadersTimeout = TimeSpan.FromMilliseconds(options.HeaderTimeoutMs),
            };
            EdgeServer? admin = null;

            using var notifier = new ServiceNotifier(log);
            using var stop = new CancellationTokenSource();
            using var sigterm = ControlSignal.Handle(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            // Before anything listens or systemd hears ready: a SIGHUP from then on reloads, never kills.
            var reloader = new ServeReloader(options, application, storeApps, notifier, log);
            using var sighup = ControlSignal.Handle(PosixSignal.SIGHUP, c => { c.Cancel = true; reloader.Reload(); });

            try
            {
                // The admin listener first: once the HTTP port answers, /metrics does too.
                if (options.AdminListen is { } adminAddress)
                {
                    var api = options.AdminTokenFile is { } tokenFile ? new AdminHttpApplication(storeApps!, ReadToken(tokenFile), log) { Pool = pool } : null;
                    admin = new EdgeServer(k =>
                    {
                        if (adminAddress.StartsWith("unix:", StringComparison.Ordinal)) k.ListenUnixSocket(adminAddress[5..]);
                        else k.Listen(ServeOptions.ParseEndpoint(adminAddress));
                    }, new AdminListenerApplication(metrics, api) { Pool = pool }, log);
                    admin.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
                    log.Info("admin endpoint listening", ("address", string.Join(" ", admin.Addresses)));
                }
                server.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
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
                ("worker_pool", poolSize), ("transport", Blueboat.Supervisor.Transport.TransportSelector.Name(transport.Kind)), ("systemd_sockets", string.Join(" ", inherited.Sockets.Select(s => $"{s.Name}:{s.Descriptor}"))));

            // Ready once the listeners are bound and the pre-started workers are up (or have
            // failed to come up, which the pool logs and keeps retrying).
            var workersReady = pool?.Filled ?? Task.CompletedTask;
            if (!workersReady.Wait(PoolReadyTimeout))
                log.Warn("the worker pool is not full yet; reporting ready anyway", ("waited_s", PoolReadyTimeout.TotalSeconds));
            notifier.Ready($"serving {source}");
            notifier.StartWatchdog();

            stop.Token.WaitHandle.WaitOne();
            notifier.Stopping();
            var drain = TimeSpan.FromSeconds(options.ShutdownTimeoutSecs);
            log.Info("stopping: no new connections; finishing requests in flight", ("deadline_s", options.ShutdownTimeoutSecs),
                ("in_flight", metrics.InFlightRequests));
            using var deadline = new CancellationTokenSource(drain);
            try
            {
                // Kestrel stops accepting, lets requests in flight finish and closes idle
                // connections; at the deadline it aborts what is left.
                server.StopAsync(deadline.Token).GetAwaiter().GetResult();
                admin?.StopAsync(deadline.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) { }
            log.Info("stopped accepting and drained; stopping workers", ("requests_cut_at_deadline", deadline.IsCancellationRequested));
            return 0;
        }
        finally
        {
            foreach (var d in disposables) d.Dispose();
        }
    }

    /// <summary>Memory for the V8 code cache of app versions (a small app's is a few KB).</summary>
    private const long CodeCacheBytes = 64L * 1024 * 1024;

    /// <summary>How long start-up waits for the pre-started workers before telling systemd it is ready.</summary>
    private static readonly TimeSpan PoolReadyTimeout = TimeSpan.FromSeconds(30);

    private static byte[] ReadToken(string path)
    {
        string token;
        try { token = File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"--admin-token-file: cannot read {path}: {e.Message}"); }
        if (token.Length < 16) throw new UsageException($"--admin-token-file: the token in {path} is shorter than 16 characters");
        return Encoding.UTF8.GetBytes(token);
    }
}

/// <summary>Looks users up through the C library (so NSS sources count, not only /etc/passwd).</summary>
internal static partial class SystemUsers
{
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Passwd
    {
        public nint Name;
        public nint Password;
        public uint Uid;
        public uint Gid;
        public nint Gecos;
        public nint Home;
        public nint Shell;
    }

    public static (int Uid, int Gid)? Find(string name)
    {
        if (name == "nobody") return (65534, 65534); // present everywhere, even without an entry
        var entry = GetPwNam(name);
        if (entry == 0) return null;
        var p = Marshal.PtrToStructure<Passwd>(entry);
        return ((int)p.Uid, (int)p.Gid);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "getpwnam", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial nint GetPwNam(string name);
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
