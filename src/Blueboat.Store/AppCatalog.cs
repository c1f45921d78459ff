using System.Security.Cryptography;
using Blueboat.Apps;

namespace Blueboat.Store;

/// <summary>A summary of one deployed app, for `apps list`, `apps show` and the admin endpoint.</summary>
public sealed record AppSummary(string Name, string MetadataKey, AppMetadata? Live, IReadOnlyList<string> Hosts, DeployHistory History);

/// <summary>
/// Deploy, list, show, roll back and delete apps in a store. A deploy uploads the package under a
/// content-addressed key first, then switches the app's metadata in one write, then records the
/// version: a reader sees the old app or the new one, never a mix.
/// </summary>
public sealed class AppCatalog(IAppStore store)
{
    public IAppStore Store => store;

    public async Task<DeployedVersion> DeployAsync(string app, AppPackage package, IReadOnlyDictionary<string, string> env, IReadOnlyList<string> hosts, CancellationToken cancel = default)
    {
        CheckName(app);
        foreach (var h in hosts) Routes.ValidatePattern(h);
        ModuleResolver.ResolveEntry(package, $"app {app}");

        var tar = TarPackageWriter.Write(package);
        var hash = Convert.ToHexStringLower(SHA256.HashData(tar));
        var packageKey = StoreKeys.Package(hash);
        await using var held = await store.LockAsync(cancel).ConfigureAwait(false);
        var routes = await LoadRoutesAsync(cancel).ConfigureAwait(false);
        var metadataKey = StoreKeys.Metadata(app);
        foreach (var h in hosts)
            if (routes.Hosts.TryGetValue(h, out var owner) && owner != metadataKey)
                throw new StoreException($"host {h} is already routed to {StoreKeys.AppNameOf(owner)}; remove that route first (apps unroute {h})");

        if (await store.GetAsync(packageKey, cancel).ConfigureAwait(false) is null)
            await store.PutAsync(packageKey, tar, cancel).ConfigureAwait(false);

        var history = await LoadHistoryAsync(app, cancel).ConfigureAwait(false);
        var version = $"v{history.Versions.Count + 1}-{hash[..8]}";
        var entry = new DeployedVersion(version, packageKey, env, hosts, DateTime.UtcNow, "deploy");
        await SwitchAsync(app, entry, history, cancel).ConfigureAwait(false);

        var updated = routes;
        foreach (var h in hosts) updated = updated.With(h, metadataKey);
        if (!ReferenceEquals(updated, routes)) await store.PutAsync(StoreKeys.Routes, updated.ToJson(), cancel).ConfigureAwait(false);
        return entry;
    }

    /// <summary>Makes an earlier version live again: the one named, or the one before the live one.</summary>
    public async Task<DeployedVersion> RollbackAsync(string app, string? version, CancellationToken cancel = default)
    {
        CheckName(app);
        await using var held = await store.LockAsync(cancel).ConfigureAwait(false);
        var history = await LoadHistoryAsync(app, cancel).ConfigureAwait(false);
        var live = await LoadMetadataAsync(StoreKeys.Metadata(app), cancel).ConfigureAwait(false)
            ?? throw new StoreException($"app {app} is not deployed in {store.Description}");
        DeployedVersion target;
        if (version is not null)
        {
            target = history.Versions.LastOrDefault(v => v.Version == version)
                ?? throw new StoreException($"app {app} has no version {version}; versions: {string.Join(", ", history.Versions.Select(v => v.Version).Distinct())}");
        }
        else
        {
            var earlier = history.Versions.Where(v => v.Version != live.Version).Select(v => v.Version).LastOrDefault()
                ?? throw new StoreException($"app {app} has no earlier version to roll back to");
            target = history.Versions.Last(v => v.Version == earlier);
        }
        if (await store.GetAsync(target.Package, cancel).ConfigureAwait(false) is null)
            throw new StoreException($"the package of {app} {target.Version} ({target.Package}) is missing from {store.Description}");
        var entry = target with { DeployedAt = DateTime.UtcNow, Note = $"rollback to {target.Version}" };
        await SwitchAsync(app, entry, history, cancel).ConfigureAwait(false);
        return entry;
    }

    public async Task DeleteAsync(string app, CancellationToken cancel = default)
    {
        CheckName(app);
        var metadataKey = StoreKeys.Metadata(app);
        await using var held = await store.LockAsync(cancel).ConfigureAwait(false);
        if (await store.GetAsync(metadataKey, cancel).ConfigureAwait(false) is null)
            throw new StoreException($"app {app} is not deployed in {store.Description}");
        var routes = await LoadRoutesAsync(cancel).ConfigureAwait(false);
        var without = routes.WithoutTarget(metadataKey);
        if (without.Hosts.Count != routes.Hosts.Count) await store.PutAsync(StoreKeys.Routes, without.ToJson(), cancel).ConfigureAwait(false);
        // The history stays: version numbers keep counting if the app comes back, and the record is kept.
        await store.DeleteAsync(metadataKey, cancel).ConfigureAwait(false);
    }

    /// <summary>Removes one host's route (the app it pointed to stays deployed); returns that app's name.</summary>
    public async Task<string> UnrouteAsync(string host, CancellationToken cancel = default)
    {
        Routes.ValidatePattern(host);
        await using var held = await store.LockAsync(cancel).ConfigureAwait(false);
        var routes = await LoadRoutesAsync(cancel).ConfigureAwait(false);
        if (!routes.Hosts.TryGetValue(host, out var owner))
            throw new StoreException($"host {host} has no route in {store.Description}");
        await store.PutAsync(StoreKeys.Routes, routes.Without(host).ToJson(), cancel).ConfigureAwait(false);
        return StoreKeys.AppNameOf(owner);
    }

    public async Task<IReadOnlyList<AppSummary>> ListAsync(CancellationToken cancel = default)
    {
        var routes = await LoadRoutesAsync(cancel).ConfigureAwait(false);
        var list = new List<AppSummary>();
        foreach (var key in await store.ListAsync(StoreKeys.AppPrefix, cancel).ConfigureAwait(false))
        {
            if (!key.EndsWith("/metadata.json", StringComparison.Ordinal)) continue;
            var name = StoreKeys.AppNameOf(key);
            list.Add(await SummaryAsync(name, key, routes, cancel).ConfigureAwait(false));
        }
        return list;
    }

    public async Task<AppSummary> ShowAsync(string app, CancellationToken cancel = default)
    {
        CheckName(app);
        var summary = await SummaryAsync(app, StoreKeys.Metadata(app), await LoadRoutesAsync(cancel).ConfigureAwait(false), cancel, strictHistory: true).ConfigureAwait(false);
        if (summary.Live is null)
            throw new StoreException($"app {app} is not deployed in {store.Description}");
        return summary;
    }

    public async Task<Routes> LoadRoutesAsync(CancellationToken cancel = default)
    {
        var obj = await store.GetAsync(StoreKeys.Routes, cancel).ConfigureAwait(false);
        return obj is null ? new Routes() : Routes.Parse(obj.Data, $"{store.Description}: {StoreKeys.Routes}");
    }

    public async Task<AppMetadata?> LoadMetadataAsync(string key, CancellationToken cancel = default)
    {
        var obj = await store.GetAsync(key, cancel).ConfigureAwait(false);
        return obj is null ? null : AppMetadata.Parse(obj.Data, $"{store.Description}: {key}");
    }

    private async Task<AppSummary> SummaryAsync(string name, string key, Routes routes, CancellationToken cancel, bool strictHistory = false)
    {
        AppMetadata? live = null;
        try { live = await LoadMetadataAsync(key, cancel).ConfigureAwait(false); }
        catch (AppLoadException) { }
        var history = new DeployHistory([]);
        if (StoreKeys.IsValidAppName(name))
        {
            // One damaged history must not hide every other app from `apps list`.
            try { history = await LoadHistoryAsync(name, cancel).ConfigureAwait(false); }
            catch (StoreException) when (!strictHistory) { }
        }
        var hosts = routes.Hosts.Where(kv => kv.Value == key).Select(kv => kv.Key).ToList();
        return new AppSummary(name, key, live, hosts, history);
    }

    private async Task<DeployHistory> LoadHistoryAsync(string app, CancellationToken cancel)
    {
        var key = StoreKeys.History(app);
        var obj = await store.GetAsync(key, cancel).ConfigureAwait(false);
        return obj is null ? new DeployHistory([]) : DeployHistory.Parse(obj.Data, $"{store.Description}: {key}");
    }

    private async Task SwitchAsync(string app, DeployedVersion entry, DeployHistory history, CancellationToken cancel)
    {
        var metadata = new AppMetadata(entry.Version, entry.Package, entry.Env);
        await store.PutAsync(StoreKeys.Metadata(app), metadata.ToJson(), cancel).ConfigureAwait(false);
        await store.PutAsync(StoreKeys.History(app), history.Append(entry).ToJson(), cancel).ConfigureAwait(false);
    }

    private static void CheckName(string app)
    {
        if (!StoreKeys.IsValidAppName(app))
            throw new StoreException($"\"{app}\" is not an app name: use 1-63 lower-case letters, digits, '-' and '_', starting with a letter or digit");
    }
}
