using System.Globalization;
using System.Net;

namespace Blueboat.Edge.Commands;

/// <summary>The flags of `serve`, parsed strictly: an unknown flag or a bad value is a usage error.</summary>
public sealed class ServeOptions
{
    public IPEndPoint? Listen { get; private set; }
    public string? SingleTenant { get; private set; }
    public string? AppDirectory { get; private set; }
    public int InitBudgetMs { get; private set; } = 3000;
    public long MaxRequestBody { get; private set; } = 64L * 1024 * 1024;
    public bool ShowHelp { get; private set; }
    public bool ShowVersion { get; private set; }

    public static ServeOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ServeOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            string Value()
            {
                if (inline is not null) return inline;
                if (i + 1 >= args.Count) throw new UsageException($"{arg} needs a value");
                return args[++i];
            }

            switch (arg)
            {
                case "-l" or "--listen":
                    o.Listen = Unset(Value()) is { } l ? ParseEndpoint(l) : null;
                    break;
                case "--single-tenant":
                    if (o.SingleTenant is not null) throw new UsageException("--single-tenant given twice");
                    o.SingleTenant = Unset(Value());
                    break;
                case "--app":
                    if (o.AppDirectory is not null) throw new UsageException("--app given twice");
                    o.AppDirectory = Unset(Value());
                    break;
                case "--init-budget-ms":
                    if (Unset(Value()) is { } budget) o.InitBudgetMs = (int)ParseNumber(arg, budget, 1, 600_000);
                    break;
                case "--max-request-body":
                    if (Unset(Value()) is { } max) o.MaxRequestBody = ParseNumber(arg, max, 0, 1L << 30);
                    break;
                case "-h" or "--help":
                    o.ShowHelp = true;
                    return o;
                case "-V" or "--version":
                    o.ShowVersion = true;
                    return o;
                default:
                    throw new UsageException(arg.StartsWith('-') ? $"unknown flag {arg}" : $"unexpected argument \"{arg}\"");
            }
        }

        if (o.Listen is null) throw new UsageException("serve needs -l ADDR:PORT");
        if (o.SingleTenant is null == (o.AppDirectory is null))
            throw new UsageException("serve needs exactly one of --single-tenant PATH or --app DIR");
        return o;
    }

    /// <summary>Blueboat's convention: "-" means the flag is unset.</summary>
    private static string? Unset(string value) => value == "-" ? null : value;

    private static IPEndPoint ParseEndpoint(string value)
    {
        var lastColon = value.LastIndexOf(':');
        if (lastColon <= 0 || lastColon == value.Length - 1 || !IPEndPoint.TryParse(value, out var ep))
            throw new UsageException($"--listen: \"{value}\" is not ADDR:PORT (an IP address and a port, e.g. 127.0.0.1:3000)");
        return ep;
    }

    private static long ParseNumber(string flag, string value, long min, long max)
    {
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
            throw new UsageException($"{flag}: \"{value}\" is not a number from {min} to {max}");
        return n;
    }
}
