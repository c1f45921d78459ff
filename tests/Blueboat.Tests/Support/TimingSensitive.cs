namespace Blueboat.Tests.Support;

/// <summary>
/// Tests that assert latencies (a deploy live within 1 s) or CPU use run alone, after the
/// parallel ones, so the 2 cores of a test machine are theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "timing-sensitive";
}
