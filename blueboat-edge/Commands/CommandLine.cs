using System.Reflection;

namespace Blueboat.Edge.Commands;

/// <summary>Top-level command dispatch: `serve` (also implied by a leading flag, as Blueboat took its flags bare), `--help`, `--version`.</summary>
public static class CommandLine
{
    public const int UsageExit = 2;

    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public const string Usage = """
        blueboat-edge: a self-hosted platform for serverless JavaScript apps.

        Usage:
          blueboat-edge serve -l ADDR:PORT --single-tenant PATH/metadata.json
          blueboat-edge serve -l ADDR:PORT --app DIR
          blueboat-edge serve -l ADDR:PORT STORE [--trusted-proxy CIDR]... [--admin-listen ADDR [--admin-token-file FILE]]
          blueboat-edge serve --config /etc/blueboat-edge/blueboat-edge.conf   (the installed service)
          blueboat-edge deploy DIR --app NAME [--host HOST]... [--env K=V]... STORE
          blueboat-edge apps list | show NAME | rollback NAME [VERSION] | delete NAME | unroute HOST  STORE
          blueboat-edge --help | --version

        STORE is where apps live: --store DIR (a local folder), or
          --s3-bucket NAME --s3-region REGION [--s3-endpoint URL]   (credentials: the AWS environment/profile chain)

        serve options:
          --config FILE                read settings from FILE first; flags on the command line win (the
                                       service's file is /etc/blueboat-edge/blueboat-edge.conf)
          -l, --listen ADDR:PORT       address to serve HTTP on, e.g. 127.0.0.1:3000 (optional when systemd
                                       passes listening sockets: blueboat-edge.socket)
          --single-tenant PATH         serve one app from a Blueboat metadata.json and its tar package
          --app DIR                    serve one app from a folder holding index.mjs or index.js (development)
          --trusted-proxy CIDR         believe X-Blueboat-Metadata and X-Blueboat-Client-Ip from these addresses (repeatable)
          --fetch-allow CIDR           let app fetch() reach this private or loopback range (repeatable; all such ranges are refused by default)
          --metadata-ttl-ms N          how long app metadata and routes are cached (default 5000; a local store is also watched)
          --idle-timeout-secs N        stop an app's worker after this long without requests (default 400)
          --worker-pool N              idle pre-started workers kept ready for apps not yet running (default 2; 0: none)
          --admin-listen ADDR|unix:P   admin listener on a loopback ADDR:PORT or a Unix socket (off by default):
                                       GET /metrics (Prometheus text, no token) and, with a token, the admin API
          --admin-token-file FILE      the admin API's bearer token (at least 16 characters; needs a store)
          --worker-user NAME           the user workers run as when serve runs as root (default nobody;
                                       the service uses blueboat-edge)
          --shutdown-timeout-secs N    on SIGTERM, how long requests in flight may take to finish (default 30)
          --init-budget-ms N           time an app's modules may take to load (default 3000)
          --cpu-limit-ms N             CPU time one request may use; past it the request gets 503 (default 1000)
          --wall-limit-ms N            time one request may take; past it the client gets 504 (default 60000)
          --max-concurrent-requests N  requests one app version handles at once; more get 503 (default 512)
          --worker-memory-mb N         memory of a whole worker process, by cgroup where available (default 512)
          --header-timeout-ms N        time a client may take to send a request's head (default 10000)
          --heap-limit-mb N            V8 heap of one app's worker; past it the worker is replaced (default 128)
          --dangerously-disable-seccomp  run workers without their syscall filter (debugging only; logged)
          --transport io-uring|socket  how the HTTP listener talks to the network (default io-uring where the kernel
                                       allows it, else socket, logged once; BLUEBOAT_EDGE_DISABLE_IO_URING=1 forces socket)
          --max-request-body BYTES     largest request body accepted (default 67108864, at most 1073741824)
          --max-response-body BYTES    largest response body an app may send; past it the client gets 502 (default 134217728)
          -h, --help                   show this help
          -V, --version                show the version

        A flag given as "-" is unset, as in Blueboat.

        The configuration file has one setting per line, named like the long flag without its dashes
        ("listen = 127.0.0.1:3000", "trusted-proxy = 10.0.0.0/8" on as many lines as needed, a switch
        such as "dangerously-disable-seccomp" alone), and "#" comment lines. SIGHUP re-reads it and
        the store's routes; trusted-proxy and max-request-body apply at once, the rest at the next start.
        SIGTERM stops accepting, finishes requests in flight (up to --shutdown-timeout-secs), stops the
        workers and exits 0.

        Installed layout (packages): /usr/bin/blueboat-edge, the V8 library in /usr/lib/blueboat-edge/,
        configuration in /etc/blueboat-edge/, the local store in /var/lib/blueboat-edge/, logs in the
        journal (journalctl -u blueboat-edge), systemd units blueboat-edge.service and .socket.
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0)
            return UsageError("no command given");
        switch (args[0])
        {
            case "-h" or "--help" or "help":
                Console.Out.WriteLine(Usage);
                return 0;
            case "-V" or "--version":
                Console.Out.WriteLine($"blueboat-edge {Version}");
                return 0;
            case "serve":
                return Serve(args[1..]);
            case "deploy":
                return DeployCommand.Run(args[1..]);
            case "apps":
                return AppsCommand.Run(args[1..]);
            default:
                if (args[0].StartsWith('-')) return Serve(args);
                return UsageError($"unknown command \"{args[0]}\"");
        }
    }

    private static int Serve(string[] args)
    {
        ServeOptions options;
        var inherited = Supervisor.Hosting.Systemd.ListenFds.FromEnvironment();
        Supervisor.Hosting.Systemd.ListenFds.ClearEnvironment();
        try
        {
            options = ServeOptions.Parse(args, socketsFromSystemd: inherited.Any);
        }
        catch (UsageException e)
        {
            return UsageError(e.Message);
        }
        if (options.ShowHelp)
        {
            Console.Out.WriteLine(Usage);
            return 0;
        }
        if (options.ShowVersion)
        {
            Console.Out.WriteLine($"blueboat-edge {Version}");
            return 0;
        }
        return ServeCommand.Run(options, inherited);
    }

    public static int UsageError(string message)
    {
        Console.Error.WriteLine($"blueboat-edge: {message}");
        Console.Error.WriteLine();
        Console.Error.WriteLine(Usage);
        return UsageExit;
    }
}

public sealed class UsageException(string message) : Exception(message);
