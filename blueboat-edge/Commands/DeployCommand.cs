using Blueboat.Apps;
using Blueboat.Store;

namespace Blueboat.Edge.Commands;

/// <summary>`deploy DIR --app NAME [--host HOST]... [--env K=V]... STORE`: pack, upload, switch, record.</summary>
public static class DeployCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        string? dir = null, app = null;
        var hosts = new List<string>();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var store = new StoreFlags();
        var r = new ArgReader(args);
        try
        {
            while (r.Next())
            {
                if (store.TryRead(r)) continue;
                switch (r.Current)
                {
                    case "--app": app = r.Value(); break;
                    case "--host": hosts.Add(r.Value().ToLowerInvariant()); break;
                    case "--env":
                        var pair = r.Value();
                        var eq = pair.IndexOf('=');
                        if (eq <= 0) throw new UsageException($"--env: \"{pair}\" is not K=V");
                        env[pair[..eq]] = pair[(eq + 1)..];
                        break;
                    case "-h" or "--help": Console.Out.WriteLine(CommandLine.Usage); return 0;
                    default:
                        if (r.IsFlag || dir is not null) throw r.Unknown();
                        dir = r.Current;
                        break;
                }
            }
            if (dir is null) throw new UsageException("deploy needs the app folder: deploy DIR --app NAME --store STORE");
            if (app is null) throw new UsageException("deploy needs --app NAME");
            store.Validate();
            if (!store.IsSet) throw new UsageException("deploy needs --store DIR or --s3-bucket NAME");
        }
        catch (UsageException e)
        {
            return CommandLine.UsageError(e.Message);
        }

        try
        {
            var package = DirectoryPackageReader.Read(dir);
            var catalog = new AppCatalog(store.Open());
            var deployed = catalog.DeployAsync(app, package, env, hosts).GetAwaiter().GetResult();
            Console.Out.WriteLine($"deployed {app} {deployed.Version} ({deployed.Package}){(hosts.Count > 0 ? " for " + string.Join(", ", hosts) : "")}");
            return 0;
        }
        catch (Exception e) when (e is AppLoadException or StoreException)
        {
            Console.Error.WriteLine($"blueboat-edge: deploy failed: {e.Message}");
            return 1;
        }
    }
}
