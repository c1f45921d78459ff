using System.Runtime.InteropServices;
using Blueboat.Apps;
using Blueboat.Supervisor.Hosting;
using Blueboat.Supervisor.Http;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Workers;

namespace Blueboat.Edge.Commands;

/// <summary>`serve`: load the app definition, start the HTTP listener, run until SIGTERM or SIGINT.</summary>
public static class ServeCommand
{
    public static int Run(ServeOptions options)
    {
        var log = EdgeLog.Console();
        AppBundle app;
        try
        {
            app = options.SingleTenant is { } metadata
                ? AppBundle.FromMetadataFile(metadata)
                : AppBundle.FromDirectory(options.AppDirectory!);
        }
        catch (AppLoadException e)
        {
            Console.Error.WriteLine($"blueboat-edge: cannot load the app: {e.Message}");
            return 1;
        }

        using var launcher = new WorkerLauncher(Environment.ProcessPath ?? "/proc/self/exe");
        using var host = new AppHost(app, launcher, log, TimeSpan.FromMilliseconds(options.InitBudgetMs));
        var application = new EdgeHttpApplication(new SingleAppResolver(host), log, new EdgeHttpOptions(options.MaxRequestBody));
        var server = new EdgeServer(options.Listen!, application, log);

        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        try
        {
            server.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"blueboat-edge: cannot listen on {options.Listen}: {e.Message}");
            return 1;
        }
        log.Info("listening", ("address", string.Join(" ", server.Addresses)), ("app", app.Name), ("version", app.Version),
            ("files", app.Package.Files.Count), ("pid", Environment.ProcessId));

        stop.Token.WaitHandle.WaitOne();
        log.Info("stopping");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            server.StopAsync(deadline.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) { }
        return 0;
    }
}
