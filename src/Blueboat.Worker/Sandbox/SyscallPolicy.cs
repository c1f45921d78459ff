using System.Globalization;

namespace Blueboat.Worker.Sandbox;

/// <summary>One argument check: (arg &amp; Mask) == Value, over all 64 bits of the argument.</summary>
public readonly record struct ArgCheck(int Arg, ulong Mask, ulong Value);

/// <summary>One allowed syscall: unconditionally, when every check holds, or answered with an errno.</summary>
public sealed record SyscallRule(string Name, IReadOnlyList<ArgCheck> Checks, int? Errno);

/// <summary>The parsed seccomp/worker.policy: what a locked-down worker may call.</summary>
public sealed class SyscallPolicy(IReadOnlyList<SyscallRule> rules)
{
    public IReadOnlyList<SyscallRule> Rules { get; } = rules;

    private static readonly Dictionary<string, int> Errnos = new() { ["EPERM"] = 1, ["ENOSYS"] = 38, ["EACCES"] = 13 };

    /// <summary>The policy shipped in the binary, with <c>$pid</c> bound to this process.</summary>
    public static SyscallPolicy Embedded()
    {
        using var stream = typeof(SyscallPolicy).Assembly.GetManifestResourceStream("worker.policy")
            ?? throw new InvalidOperationException("worker.policy is not embedded");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "seccomp/worker.policy", (ulong)Environment.ProcessId);
    }

    /// <summary>
    /// Parses a policy; a VALUE of <c>$pid</c> stands for <paramref name="selfPid"/>, the process
    /// the filter is compiled for (signals may go to its own threads only).
    /// </summary>
    public static SyscallPolicy Parse(string text, string source, ulong selfPid)
    {
        var rules = new List<SyscallRule>();
        var seen = new HashSet<string>();
        var lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var hash = raw.IndexOf('#');
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0) continue;
            var parts = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var name = parts[0];
            string Where() => $"{source}:{lineNo}";
            if (!SyscallTable.X64.ContainsKey(name)) throw new FormatException($"{Where()}: unknown syscall \"{name}\"");
            if (!seen.Add(name)) throw new FormatException($"{Where()}: {name} listed twice");
            if (parts.Length == 1) { rules.Add(new SyscallRule(name, [], null)); continue; }
            if (parts[1] == "errno")
            {
                if (parts.Length != 3 || !Errnos.TryGetValue(parts[2], out var errno)) throw new FormatException($"{Where()}: expected \"errno NAME\"");
                rules.Add(new SyscallRule(name, [], errno));
                continue;
            }
            var checks = new List<ArgCheck>();
            var rest = string.Join(' ', parts[1..]).Split(" and ", StringSplitOptions.TrimEntries);
            foreach (var cond in rest)
            {
                // argN & MASK == VALUE
                var tokens = cond.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (tokens.Length != 5 || !tokens[0].StartsWith("arg") || tokens[1] != "&" || tokens[3] != "==")
                    throw new FormatException($"{Where()}: expected \"argN & MASK == VALUE\", got \"{cond}\"");
                if (!int.TryParse(tokens[0][3..], out var arg) || arg is < 0 or > 5) throw new FormatException($"{Where()}: argument index must be 0-5");
                var value = tokens[4] == "$pid" ? selfPid : Number(tokens[4], Where());
                checks.Add(new ArgCheck(arg, Number(tokens[2], Where()), value));
            }
            rules.Add(new SyscallRule(name, checks, null));
        }
        return new SyscallPolicy(rules);
    }

    private static ulong Number(string s, string where) =>
        s.StartsWith("0x", StringComparison.Ordinal) && ulong.TryParse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex) ? hex
        : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var dec) ? dec
        : throw new FormatException($"{where}: \"{s}\" is not a number");
}
