using Blueboat.Supervisor.Workers;

namespace Blueboat.Supervisor.Http;

/// <summary>Maps a request to the app that serves it.</summary>
public interface IAppResolver
{
    /// <summary>The app for this host, or null when none serves it.</summary>
    AppHost? Resolve(string host);
}

/// <summary>One app answers every host: `--single-tenant` and `--app`.</summary>
public sealed class SingleAppResolver(AppHost app) : IAppResolver
{
    public AppHost? Resolve(string host) => app;
}
