using System.Collections.Concurrent;
using System.Security.Cryptography;
using Blueboat.Apps;
using Blueboat.Store;
using Blueboat.Supervisor.Http;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Workers;

namespace Blueboat.Supervisor.Tenancy;

/// <summary>
/// Many apps from one store: a request's host (or a trusted proxy's X-Blueboat-Metadata) names a
/// metadata key; the metadata names a version and a package; each (key, version, package content
/// hash) runs as its own <see cref="AppHost"/>. A new version takes new requests at once while the
/// old one finishes its own and is then retired; idle versions are evicted and come back on demand.
/// </summary>
public sealed class StoreAppResolver : IAppResolver, IDisposable
{
    private readonly AppCatalog catalog;
    private readonly WorkerServices services;
    private readonly EdgeLog log;
    private readonly StoreOptions options;
    private readonly TtlCache<string, Routes> routes;
    private readonly TtlCache<string, StoreObject?> metadata;
    private readonly ConcurrentDictionary<(string Key, string ETag), Lazy<Task<AppHost>>> byMetadata = new();
    private readonly ConcurrentDictionary<(string Key, string Version, string Hash), AppHost> hosts = new(); // Hash: of the metadata and the package
    private readonly ConcurrentDictionary<string, AppHost> live = new(); // metadata key -> the version serving new requests
    private readonly Timer janitor;

    public StoreAppResolver(IAppStore store, WorkerServices services, StoreOptions options)
    {
        catalog = new AppCatalog(store);
        this.services = services;
        log = services.Log;
        this.options = options;
        routes = new TtlCache<string, Routes>(options.MetadataTtl, (_, c) => catalog.LoadRoutesAsync(c));
        metadata = new TtlCache<string, StoreObject?>(options.MetadataTtl, (key, c) => store.GetAsync(key, c));
        routes.ServedStale += (_, e) => log.Warn("serving cached routes: the store failed", ("error", e.Message));
        metadata.ServedStale += (key, e) => log.Warn("serving cached metadata: the store failed", ("key", key), ("error", e.Message));
        store.Changed += () => { routes.InvalidateAll(); metadata.InvalidateAll(); };
        janitor = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public AppCatalog Catalog => catalog;

    /// <summary>Forgets cached routes and metadata, so the next request reads them from the store (a reload).</summary>
    public void Refresh()
    {
        routes.InvalidateAll();
        metadata.InvalidateAll();
    }

    /// <summary>Metadata is a small JSON object; anything larger is not metadata.</summary>
    public const int MaxMetadataBytes = 1024 * 1024;

    /// <summary>Every app version with a host object, live or draining.</summary>
    public IReadOnlyCollection<(string MetadataKey, AppHost Host, bool Live)> Versions =>
        hosts.Select(kv => (kv.Key.Key, kv.Value, live.TryGetValue(kv.Key.Key, out var l) && ReferenceEquals(l, kv.Value))).ToList();

    public async ValueTask<AppRoute> ResolveAsync(string host, string? metadataKey, CancellationToken cancel)
    {
        string key;
        try
        {
            if (metadataKey is null)
            {
                var resolved = (await routes.GetAsync(StoreKeys.Routes, cancel).ConfigureAwait(false)).Resolve(host);
                if (resolved is null) return AppRoute.NotFound($"no app is deployed for host {Routes.NormalizeHost(host)}");
                key = resolved;
            }
            else key = metadataKey;
            StoreKeys.Validate(key);
        }
        catch (StoreException e)
        {
            return metadataKey is null ? AppRoute.Unavailable($"routes cannot be read: {e.Message}") : AppRoute.NotFound($"bad metadata key: {e.Message}");
        }

        StoreObject? md;
        try
        {
            md = await metadata.GetAsync(key, cancel).ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            return AppRoute.Unavailable($"app metadata {key} cannot be read: {e.Message}");
        }
        if (md is not null && md.Data.Length > MaxMetadataBytes)
            return AppRoute.Unavailable($"{key} is {md.Data.Length} bytes, too large to be app metadata");
        if (md is null)
        {
            live.TryRemove(key, out _); // deleted: its worker is retired once idle
            return AppRoute.NotFound($"no app is deployed at {key}");
        }

        var lazy = byMetadata.GetOrAdd((key, md.ETag), k => new Lazy<Task<AppHost>>(() => LoadVersionAsync(k.Key, md)));
        try
        {
            var app = await lazy.Value.WaitAsync(cancel).ConfigureAwait(false);
            // Entered before anything is awaited, so the sweep cannot retire a version being switched to.
            var lease = app.Enter();
            if (!live.TryGetValue(key, out var previous) || !ReferenceEquals(previous, app))
            {
                if (previous is not null)
                {
                    // Switch only to a version that starts: a broken deploy never replaces a working one.
                    try
                    {
                        await app.GetWorkerAsync().WaitAsync(cancel).ConfigureAwait(false);
                    }
                    catch (AppInitException e)
                    {
                        lease.Dispose();
                        log.Warn("new app version failed to start; the previous one keeps serving", ("app", app.App.Name),
                            ("version", app.App.Version), ("serving", previous.App.Version), ("error", e.Message));
                        return AppRoute.Found(previous);
                    }
                    catch
                    {
                        lease.Dispose();
                        throw;
                    }
                }
                if (live.TryGetValue(key, out var before) && !ReferenceEquals(before, app) && (previous is null || ReferenceEquals(before, previous)))
                {
                    live[key] = app;
                    log.Info("app version switched", ("app", app.App.Name), ("from", before.App.Version), ("to", app.App.Version));
                }
                else if (before is null) live[key] = app;
            }
            return AppRoute.Found(app, lease);
        }
        catch (Exception e) when (e is StoreException or AppLoadException)
        {
            // Forget the failure after a moment, so a fixed store is picked up without a restart.
            _ = Task.Delay(AppHost.FailedStartRetry).ContinueWith(_ => byMetadata.TryRemove(new KeyValuePair<(string, string), Lazy<Task<AppHost>>>((key, md.ETag), lazy)), TaskScheduler.Default);
            // Keep serving the version that was live, if any: nothing half-written is ever served.
            if (live.TryGetValue(key, out var stillLive))
            {
                log.Warn("new app version cannot be loaded; the previous one keeps serving", ("key", key), ("error", e.Message));
                return AppRoute.Found(stillLive);
            }
            return AppRoute.Unavailable($"app {StoreKeys.AppNameOf(key)} cannot be loaded: {e.Message}");
        }
    }

    private async Task<AppHost> LoadVersionAsync(string key, StoreObject metadataObject)
    {
        var md = AppMetadata.Parse(metadataObject.Data, $"{catalog.Store.Description}: {key}");
        StoreKeys.Validate(md.Package);
        var tar = await catalog.Store.GetAsync(md.Package).ConfigureAwait(false)
            ?? throw new StoreException($"{catalog.Store.Description}: package {md.Package} named by {key} does not exist");
        // The identity of a running version: its metadata (version, package, env) and the package's
        // bytes, so a changed env or a rewritten package is never served by the old worker.
        var hash = Convert.ToHexStringLower(SHA256.HashData([.. md.ToJson(), .. tar.Data]));
        var package = TarPackageReader.Read(new MemoryStream(tar.Data), $"{catalog.Store.Description}: {md.Package}");
        var entry = ModuleResolver.ResolveEntry(package, md.Package);
        var bundle = new AppBundle(StoreKeys.AppNameOf(key), md.Version, md.Env, package, entry, md.Limits);
        return hosts.GetOrAdd((key, md.Version, hash), _ => new AppHost(bundle, services, options.Limits.With(md.Limits)) { VersionId = $"{key}\n{md.Version}\n{hash}" });
    }

    /// <summary>Retires replaced versions once idle and evicts versions unused for the idle timeout.</summary>
    private void Sweep()
    {
        var now = DateTime.UtcNow;
        foreach (var (id, app) in hosts)
        {
            var isLive = live.TryGetValue(id.Key, out var l) && ReferenceEquals(l, app);
            string? reason = null;
            if (!isLive && app.InFlight == 0) reason = "replaced by a newer version";
            else if (app.InFlight == 0 && now - app.LastUsed > options.IdleTimeout) reason = "idle";
            if (reason is null) continue;
            if (!hosts.TryRemove(new KeyValuePair<(string, string, string), AppHost>(id, app))) continue;
            if (isLive) live.TryRemove(new KeyValuePair<string, AppHost>(id.Key, app));
            foreach (var (mk, lazy) in byMetadata)
                if (mk.Key == id.Key && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && ReferenceEquals(lazy.Value.Result, app))
                    byMetadata.TryRemove(mk, out _);
            app.StopWorker(reason);
            // An idle version may come back and keeps its code cache (bounded); a replaced one will not.
            if (!isLive) services.CodeCache?.Drop(app.VersionId);
        }
    }

    public void Dispose()
    {
        janitor.Dispose();
        foreach (var app in hosts.Values) app.Dispose();
    }
}

/// <summary>How a store-backed server caches and retires app versions.</summary>
public sealed record StoreOptions(TimeSpan MetadataTtl, TimeSpan IdleTimeout, AppLimits Limits);
