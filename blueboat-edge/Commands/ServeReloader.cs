using Blueboat.Supervisor.Hosting.Systemd;
using Blueboat.Supervisor.Http;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Tenancy;

namespace Blueboat.Edge.Commands;

/// <summary>
/// SIGHUP: reads the configuration file again (under the same command line) and re-reads routes
/// and app metadata from the store, without touching a connection. The request-level settings
/// apply at once; the rest (listeners, store, limits baked into running workers, ...) are named in
/// the log as needing a restart. A file that no longer parses changes nothing and is logged.
/// </summary>
public sealed class ServeReloader(ServeOptions started, EdgeHttpApplication application, StoreAppResolver? storeApps, ServiceNotifier notifier, EdgeLog log)
{
    /// <summary>Settings a reload applies to the running server (each new request sees them).</summary>
    public static readonly IReadOnlySet<string> Live = new HashSet<string> { "trusted-proxy", "max-request-body" };

    private readonly Lock gate = new();
    private ServeOptions current = started;

    public void Reload()
    {
        lock (gate)
        {
            notifier.Reloading();
            storeApps?.Refresh();
            ServeOptions next;
            try
            {
                next = ServeOptions.Parse(current.CommandLine, socketsFromSystemd: true);
            }
            catch (UsageException e)
            {
                log.Error("reload failed: the configuration is unchanged", ("config", current.ConfigPath), ("error", e.Message));
                notifier.Reloaded("reload failed; previous configuration kept");
                return;
            }

            // Live settings against the last reload; the others against what the server started with.
            var applied = Changed(current, next).Where(Live.Contains).ToList();
            var needRestart = Changed(started, next).Where(k => !Live.Contains(k)).ToList();
            application.Reconfigure(new EdgeHttpOptions(next.MaxRequestBody), new TrustedProxies(next.TrustedProxies));
            if (needRestart.Count > 0)
                log.Warn("reload: these settings changed but take effect only after a restart", ("settings", string.Join(" ", needRestart)));
            log.Info("reloaded", ("config", next.ConfigPath), ("applied", string.Join(" ", applied)),
                ("routes", storeApps is null ? "no store" : "re-read from the store"));
            current = next;
            notifier.Reloaded("reloaded");
        }
    }

    /// <summary>Names of the settings whose given values differ.</summary>
    public static List<string> Changed(ServeOptions a, ServeOptions b)
    {
        var keys = a.Given.Keys.Union(b.Given.Keys).Where(k => k != "config");
        return keys.Where(k => !(a.Given.TryGetValue(k, out var x) && b.Given.TryGetValue(k, out var y) && x.SequenceEqual(y)))
            .Order(StringComparer.Ordinal).ToList();
    }
}
