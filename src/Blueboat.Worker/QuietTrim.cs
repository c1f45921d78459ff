namespace Blueboat.Worker;

/// <summary>
/// When a quiet worker gives memory back. Once quiet for <see cref="FirstAfter"/>, it trims fully
/// (collections, then free pages). After that it looks at its resident size every
/// <see cref="LookEvery"/> and gives back free pages (no collection) once it has grown by
/// <see cref="GrowthBeforeRelease"/>: V8's memory reducer collects an idle isolate every 100 s on a
/// background thread, which maps back about 7 MB of the V8 library and marking space. The reducer
/// stays on, because it is also what gives back a spike's memory to a worker whose traffic never
/// pauses for a second (measured: without it, 330 MB stayed resident for minutes).
/// The size to grow from is taken at the first look after a trim, not right after it: waking up
/// to look maps back a few MB of code by itself, and that alone must not set off another release.
/// </summary>
internal sealed class QuietTrim
{
    public static readonly TimeSpan FirstAfter = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan LookEvery = TimeSpan.FromSeconds(5);
    public const long GrowthBeforeRelease = 2 * 1024 * 1024;

    private bool trimmed;   // in this quiet spell
    private bool settling;  // the next look takes the size to grow from
    private long settled;   // resident bytes at that look

    /// <summary>How long the worker may wait for an event before <see cref="OnQuiet"/> is due.</summary>
    public int NextLookMs => (int)(trimmed ? LookEvery : FirstAfter).TotalMilliseconds;

    /// <summary>An event arrived: the quiet spell is over.</summary>
    public void Reset() => trimmed = false;

    /// <summary>No event arrived within <see cref="NextLookMs"/>.</summary>
    public void OnQuiet(Action fullTrim, Action releaseFreePages, Func<long> residentBytes)
    {
        if (!trimmed)
        {
            fullTrim();
            trimmed = settling = true;
            return;
        }
        var resident = residentBytes();
        if (settling)
        {
            settled = Math.Max(0, resident); // 0 when /proc cannot be read: nothing grows past it
            settling = false;
        }
        else if (resident > settled + GrowthBeforeRelease)
        {
            releaseFreePages();
            settling = true;
        }
    }
}
