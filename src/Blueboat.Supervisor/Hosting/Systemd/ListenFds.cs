namespace Blueboat.Supervisor.Hosting.Systemd;

/// <summary>
/// Listening sockets passed by systemd socket activation (blueboat-edge.socket): descriptors 3 ..
/// 3+$LISTEN_FDS-1 when $LISTEN_PID is this process, named by $LISTEN_FDNAMES. The service then
/// needs no capability to serve ports 80 and 443: systemd bound them.
/// </summary>
public sealed record ListenFds(IReadOnlyList<ListenFds.Fd> Sockets)
{
    public sealed record Fd(int Descriptor, string Name);

    public const int First = 3; // SD_LISTEN_FDS_START

    public static readonly ListenFds None = new([]);

    /// <summary>The sockets passed to this process, from its environment.</summary>
    public static ListenFds FromEnvironment() => Parse(
        Environment.GetEnvironmentVariable("LISTEN_PID"),
        Environment.GetEnvironmentVariable("LISTEN_FDS"),
        Environment.GetEnvironmentVariable("LISTEN_FDNAMES"),
        Environment.ProcessId);

    public static ListenFds Parse(string? listenPid, string? listenFds, string? names, int ownPid)
    {
        // Variables meant for another process (a parent that did not unset them) are ignored.
        if (!int.TryParse(listenPid, out var pid) || pid != ownPid) return None;
        if (!int.TryParse(listenFds, out var count) || count <= 0) return None;
        var nameList = (names ?? "").Split(':');
        var sockets = new List<Fd>(count);
        for (var i = 0; i < count; i++)
            sockets.Add(new Fd(First + i, i < nameList.Length && nameList[i].Length > 0 ? nameList[i] : "unknown"));
        return new ListenFds(sockets);
    }

    public bool Any => Sockets.Count > 0;

    /// <summary>Forgets the variables, so nothing started later believes the sockets are its own.</summary>
    public static void ClearEnvironment()
    {
        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);
    }
}
