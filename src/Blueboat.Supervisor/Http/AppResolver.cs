using Blueboat.Supervisor.Workers;

namespace Blueboat.Supervisor.Http;

/// <summary>
/// The app that serves a request, or why none does. A found app is already entered (counted in
/// flight), so it cannot be retired between resolution and hand-off; dispose the lease when done.
/// </summary>
public readonly record struct AppRoute(AppHost? App, AppHost.Lease Lease, int Status, string Message)
{
    public static AppRoute Found(AppHost app) => new(app, app.Enter(), 200, "");
    public static AppRoute Found(AppHost app, AppHost.Lease lease) => new(app, lease, 200, "");
    public static AppRoute NotFound(string message) => new(null, default, 404, message);
    public static AppRoute Unavailable(string message) => new(null, default, 503, message);
}

/// <summary>Maps a request to the app that serves it.</summary>
public interface IAppResolver
{
    /// <param name="host">the Host header</param>
    /// <param name="metadataKey">the X-Blueboat-Metadata header, only when a trusted proxy sent it</param>
    ValueTask<AppRoute> ResolveAsync(string host, string? metadataKey, CancellationToken cancel);
}

/// <summary>One app answers every host: `--single-tenant` and `--app`.</summary>
public sealed class SingleAppResolver(AppHost app) : IAppResolver
{
    public ValueTask<AppRoute> ResolveAsync(string host, string? metadataKey, CancellationToken cancel) => new(AppRoute.Found(app));
}
