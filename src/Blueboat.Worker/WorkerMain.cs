using System.Collections.Concurrent;
using System.Net.Sockets;
using Blueboat.Channel;

namespace Blueboat.Worker;

/// <summary>
/// The hidden worker mode of the executable: started by the supervisor with the channel on
/// descriptor 3, it loads the V8 runtime, waits for its app, and serves requests until the channel closes.
/// </summary>
public static class WorkerMain
{
    public const int ChannelFd = 3;

    public static int Run()
    {
        Sandbox.ProcessHardening.MakeNotDumpable();
        Socket socket;
        try
        {
            socket = new Socket(new SafeSocketHandle(ChannelFd, ownsHandle: true));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"blueboat-edge worker: no supervisor channel on descriptor {ChannelFd}: {e.Message}");
            return 2;
        }
        using var channel = new FrameConnection(socket);
        var events = new BlockingCollection<WorkerEvent>();
        var inbox = new ChannelInbox(channel, events);
        _ = Task.Run(inbox.RunAsync);
        var loop = new WorkerLoop(channel, events);
        return loop.Run();
    }
}
