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
        using var memory = MemoryCgroup.Create(options.WorkerMemoryMb * 1024L * 1024, log);
        using var launcher = new WorkerLauncher(Environment.ProcessPath ?? "/proc/self/exe") { Memory = memory };
        using var fetch = new Blueboat.Supervisor.Outbound.FetchProxy(new Blueboat.Supervisor.Outbound.OutboundPolicy(options.FetchAllow), log);
        var services = new WorkerServices(launcher, log, fetch);
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
            var transport = Blueboat.Supervisor.Transport.TransportSelector.Choose(options.Transport, log);
            var server = new EdgeServer(k => k.Listen(options.Listen!), application, log)
            {
                Transport = transport.Create,
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
                    }, new AdminHttpApplication(storeApps!, token, log), log);
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
                ("transport", Blueboat.Supervisor.Transport.TransportSelector.Name(transport.Kind)));

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

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRlimit(int resource, out Rlimit limit);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setrlimit")]
    private static partial int SetRlimit(int resource, in Rlimit limit);
}
