using System.Globalization;
using System.Text.RegularExpressions;

namespace Blueboat.Tests.Support;

/// <summary>
/// A strict reader of the Prometheus text format (0.0.4), written from the format's description:
/// every line a HELP, a TYPE or a sample of a declared family; names and labels well formed;
/// values numbers; histograms with cumulative buckets ending in +Inf equal to _count.
/// Throws FormatException naming the line otherwise.
/// </summary>
public sealed partial class PrometheusScrape
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public Dictionary<string, string> Types { get; } = new();
    public List<Sample> Samples { get; } = new();

    public static PrometheusScrape Parse(string text)
    {
        var scrape = new PrometheusScrape();
        if (!text.EndsWith('\n')) throw new FormatException("the exposition must end with a newline");
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length - 1; i++)
        {
            var line = lines[i];
            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length < 4 || !NamePattern().IsMatch(parts[2])) throw new FormatException($"line {i + 1}: bad comment \"{line}\"");
                if (parts[1] == "TYPE")
                {
                    if (parts[3] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped")) throw new FormatException($"line {i + 1}: unknown type {parts[3]}");
                    if (!scrape.Types.TryAdd(parts[2], parts[3])) throw new FormatException($"line {i + 1}: second TYPE for {parts[2]}");
                }
                continue;
            }
            var m = SamplePattern().Match(line);
            if (!m.Success) throw new FormatException($"line {i + 1}: not a sample: \"{line}\"");
            var labels = new Dictionary<string, string>();
            if (m.Groups["labels"].Success && m.Groups["labels"].Value.Length > 0)
            {
                foreach (Match l in LabelPattern().Matches(m.Groups["labels"].Value))
                    labels[l.Groups["k"].Value] = Regex.Unescape(l.Groups["v"].Value);
                if (LabelPattern().Replace(m.Groups["labels"].Value, "").Trim(',').Length > 0)
                    throw new FormatException($"line {i + 1}: bad labels \"{m.Groups["labels"].Value}\"");
            }
            var raw = m.Groups["value"].Value;
            var value = raw switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, "NaN" => double.NaN, _ => double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture) };
            var name = m.Groups["name"].Value;
            var family = Family(name);
            if (!scrape.Types.ContainsKey(family)) throw new FormatException($"line {i + 1}: sample {name} of an undeclared family");
            scrape.Samples.Add(new Sample(name, labels, value));
        }
        scrape.CheckHistograms();
        return scrape;
    }

    private static string Family(string name)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
            if (name.EndsWith(suffix, StringComparison.Ordinal)) return name[..^suffix.Length];
        return name;
    }

    private void CheckHistograms()
    {
        foreach (var (family, type) in Types.Where(t => t.Value == "histogram"))
        {
            foreach (var group in Samples.Where(s => s.Name == family + "_bucket").GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").Select(l => $"{l.Key}={l.Value}"))))
            {
                var buckets = group.ToList();
                for (var i = 1; i < buckets.Count; i++)
                    if (buckets[i].Value < buckets[i - 1].Value) throw new FormatException($"{family} {group.Key}: buckets are not cumulative");
                if (buckets[^1].Labels["le"] != "+Inf") throw new FormatException($"{family} {group.Key}: the last bucket is not +Inf");
                var count = Samples.Single(s => s.Name == family + "_count" && string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}")) == group.Key);
                if (count.Value != buckets[^1].Value) throw new FormatException($"{family} {group.Key}: _count differs from the +Inf bucket");
            }
        }
    }

    /// <summary>The value of the sample with this name and these labels (all of them), or 0 when absent.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && s.Labels.Count == labels.Length && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value))
            .Select(s => s.Value).SingleOrDefault();

    /// <summary>The sum over every sample of this name (all label sets).</summary>
    public double Sum(string name) => Samples.Where(s => s.Name == name).Sum(s => s.Value);

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?<labels>[^}]*)\\})? (?<value>\\S+)$")]
    private static partial Regex SamplePattern();

    [GeneratedRegex("(?<k>[a-zA-Z_][a-zA-Z0-9_]*)=\"(?<v>(\\\\.|[^\"\\\\])*)\"")]
    private static partial Regex LabelPattern();
}
