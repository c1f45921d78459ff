using Blueboat.Store;

namespace Blueboat.Edge.Commands;

/// <summary>`apps list | show NAME | rollback NAME [VERSION] | delete NAME | unroute HOST`, on a store.</summary>
public static class AppsCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var positionals = new List<string>();
        var store = new StoreFlags();
        var r = new ArgReader(args);
        try
        {
            while (r.Next())
            {
                if (store.TryRead(r)) continue;
                if (r.Current is "-h" or "--help") { Console.Out.WriteLine(CommandLine.Usage); return 0; }
                if (r.IsFlag) throw r.Unknown();
                positionals.Add(r.Current);
            }
            store.Validate();
            if (!store.IsSet) throw new UsageException("apps needs --store DIR or --s3-bucket NAME");
            var ok = positionals switch
            {
                ["list"] => true,
                ["show" or "delete" or "unroute", _] => true,
                ["rollback", _] or ["rollback", _, _] => true,
                _ => false,
            };
            if (!ok) throw new UsageException("apps takes: list | show NAME | rollback NAME [VERSION] | delete NAME | unroute HOST");
        }
        catch (UsageException e)
        {
            return CommandLine.UsageError(e.Message);
        }

        try
        {
            var catalog = new AppCatalog(store.Open());
            switch (positionals)
            {
                case ["list"]:
                    var apps = catalog.ListAsync().GetAwaiter().GetResult();
                    if (apps.Count == 0) Console.Out.WriteLine("no apps deployed");
                    foreach (var a in apps)
                        Console.Out.WriteLine($"{a.Name}\t{a.Live?.Version ?? "-"}\t{(a.Hosts.Count > 0 ? string.Join(",", a.Hosts) : "-")}");
                    return 0;
                case ["show", var name]:
                    var s = catalog.ShowAsync(name).GetAwaiter().GetResult();
                    Console.Out.WriteLine($"app:      {s.Name}");
                    Console.Out.WriteLine($"metadata: {s.MetadataKey}");
                    Console.Out.WriteLine($"live:     {s.Live?.Version ?? "-"}{(s.Live is null ? "" : " (" + s.Live.Package + ")")}");
                    Console.Out.WriteLine($"hosts:    {(s.Hosts.Count > 0 ? string.Join(", ", s.Hosts) : "-")}");
                    Console.Out.WriteLine($"env:      {(s.Live is { Env.Count: > 0 } l ? string.Join(", ", l.Env.Keys.Order()) : "-")}");
                    Console.Out.WriteLine("history (oldest first):");
                    var liveIndex = s.History.Versions.Select((v, i) => (v, i)).LastOrDefault(x => x.v.Version == s.Live?.Version).i;
                    foreach (var (v, i) in s.History.Versions.Select((v, i) => (v, i)))
                        Console.Out.WriteLine($"  {v.Version}\t{v.DeployedAt:yyyy-MM-dd HH:mm:ss}Z\t{v.Note}{(s.Live is not null && i == liveIndex ? "\t(live)" : "")}");
                    return 0;
                case ["rollback", var name, .. var rest]:
                    var target = catalog.RollbackAsync(name, rest.Count > 0 ? rest[0] : null).GetAwaiter().GetResult();
                    Console.Out.WriteLine($"{name} is now at {target.Version}");
                    return 0;
                case ["delete", var name]:
                    catalog.DeleteAsync(name).GetAwaiter().GetResult();
                    Console.Out.WriteLine($"deleted {name}");
                    return 0;
                case ["unroute", var host]:
                    var from = catalog.UnrouteAsync(host).GetAwaiter().GetResult();
                    Console.Out.WriteLine($"{host} no longer routes to {from}");
                    return 0;
            }
        }
        catch (Exception e) when (e is StoreException or Blueboat.Apps.AppLoadException)
        {
            Console.Error.WriteLine($"blueboat-edge: apps {positionals[0]} failed: {e.Message}");
            return 1;
        }
        return 1;
    }
}
