using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Blueboat.Supervisor.Transport.IoUring;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace Blueboat.Tests.Unit;

/// <summary>
/// The io_uring transport in-process, below HTTP: a listening socket handed over by descriptor
/// (as systemd socket activation does), bytes both ways, and the closed and unbind paths.
/// </summary>
public class UringTransportTests
{
    private static bool Available() => UringSupport.WhyUnavailable() is null;

    [Fact]
    public async Task AnInheritedListeningSocketServesConnections()
    {
        if (!Available()) return; // no io_uring here: the fallback is checked end to end
        // What systemd would pass: a socket already bound and listening.
        var inherited = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        inherited.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        inherited.Listen(16);
        var port = ((IPEndPoint)inherited.LocalEndPoint!).Port;
        var fd = (ulong)inherited.SafeHandle.DangerousGetHandle();
        inherited.SafeHandle.SetHandleAsInvalid(); // the transport owns the descriptor now

        var factory = new IoUringTransportFactory(NullLoggerFactory.Instance);
        Assert.True(factory.CanBind(new FileHandleEndPoint(fd, FileHandleType.Tcp)));
        var listener = await factory.BindAsync(new FileHandleEndPoint(fd, FileHandleType.Tcp));
        Assert.Equal(port, ((IPEndPoint)listener.EndPoint).Port);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        var connection = (await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!;
        Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, ((IPEndPoint)connection.RemoteEndPoint!).Port);
        Assert.Equal(port, ((IPEndPoint)connection.LocalEndPoint!).Port);

        await client.SendAsync(Encoding.ASCII.GetBytes("ping"));
        Assert.Equal("ping", await ReadAsync(connection.Transport.Input, 4));
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes("pong"));
        var buffer = new byte[4];
        var got = 0;
        while (got < 4) got += await client.ReceiveAsync(buffer.AsMemory(got));
        Assert.Equal("pong", Encoding.ASCII.GetString(buffer));

        // The client leaves: the input ends, and after dispose the connection counts as closed.
        client.Shutdown(SocketShutdown.Both);
        var end = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(end.IsCompleted);
        connection.Transport.Input.AdvanceTo(end.Buffer.End);
        await connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(connection.ConnectionClosed.IsCancellationRequested || await Closes(connection.ConnectionClosed));

        await listener.UnbindAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Null(await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        await listener.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        using var refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task AbortEndsTheConnectionForBothSides()
    {
        if (!Available()) return;
        var factory = new IoUringTransportFactory(NullLoggerFactory.Instance);
        var listener = await factory.BindAsync(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        var port = ((IPEndPoint)listener.EndPoint).Port;
        using var client = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.IPv6Loopback, port);
        var connection = (await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!;
        Assert.Equal(IPAddress.IPv6Loopback, ((IPEndPoint)connection.RemoteEndPoint!).Address);

        connection.Abort(new ConnectionAbortedException("test abort"));
        var buffer = new byte[16];
        Assert.Equal(0, await client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(TimeSpan.FromSeconds(5))); // the client sees the close
        await connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        await listener.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task<bool> Closes(CancellationToken token)
    {
        var closed = new TaskCompletionSource();
        using var _ = token.Register(() => closed.TrySetResult());
        return await Task.WhenAny(closed.Task, Task.Delay(5000)) == closed.Task;
    }

    private static async Task<string> ReadAsync(PipeReader reader, int count)
    {
        while (true)
        {
            var r = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            if (r.Buffer.Length >= count || r.IsCompleted)
            {
                var text = Encoding.ASCII.GetString(System.Buffers.BuffersExtensions.ToArray(r.Buffer.Slice(0, Math.Min(count, r.Buffer.Length))));
                reader.AdvanceTo(r.Buffer.GetPosition(Math.Min(count, r.Buffer.Length)));
                return text;
            }
            reader.AdvanceTo(r.Buffer.Start, r.Buffer.End);
        }
    }
}
