using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Blueboat.Tests.Support;

/// <summary>One HTTP/1.1 response as read off the wire.</summary>
public sealed record RawResponse(int Status, Dictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A client connection that writes raw bytes and reads HTTP/1.1 responses one after another
/// (Content-Length or chunked), for what HttpClient hides: pipelining, keep-alive, half-close.
/// </summary>
public sealed class RawHttp : IDisposable
{
    private readonly byte[] buffer = new byte[64 * 1024];
    private int start;
    private int end;

    public Socket Socket { get; }

    private RawHttp(Socket socket) => Socket = socket;

    public static async Task<RawHttp> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new RawHttp(socket);
    }

    public async Task WriteAsync(string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var sent = 0;
        while (sent < bytes.Length) sent += await Socket.SendAsync(bytes.AsMemory(sent));
    }

    public static string Get(string path, bool close = false) =>
        $"GET {path} HTTP/1.1\r\nHost: transport.test\r\n{(close ? "Connection: close\r\n" : "")}\r\n";

    public async Task<RawResponse> ReadResponseAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var statusLine = await ReadLineAsync(cancel.Token);
        var status = int.Parse(statusLine.Split(' ')[1]);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var line = await ReadLineAsync(cancel.Token); line.Length > 0; line = await ReadLineAsync(cancel.Token))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        var body = new MemoryStream();
        if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (true)
            {
                var size = Convert.ToInt32((await ReadLineAsync(cancel.Token)).Split(';')[0], 16);
                await ReadExactlyAsync(body, size, cancel.Token);
                await ReadLineAsync(cancel.Token);
                if (size == 0) break;
            }
            // trailers end with an empty line, already consumed above when there are none
        }
        else if (headers.TryGetValue("Content-Length", out var length))
        {
            await ReadExactlyAsync(body, long.Parse(length), cancel.Token);
        }
        return new RawResponse(status, headers, body.ToArray());
    }

    /// <summary>True when the server closed the connection (a read returns 0 bytes) within the timeout.</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try { return start == end && await FillAsync(cancel.Token) == 0; }
        catch (OperationCanceledException) { return false; }
        catch (SocketException) { return true; }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancel)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (start == end && await FillAsync(cancel) == 0) throw new EndOfStreamException("the server closed the connection mid-response");
            var b = buffer[start++];
            if (b == '\n') return line.ToString().TrimEnd('\r');
            line.Append((char)b);
        }
    }

    private async Task ReadExactlyAsync(Stream into, long count, CancellationToken cancel)
    {
        while (count > 0)
        {
            if (start == end && await FillAsync(cancel) == 0) throw new EndOfStreamException($"the server closed the connection with {count} body bytes missing");
            var n = (int)Math.Min(count, end - start);
            into.Write(buffer, start, n);
            start += n;
            count -= n;
        }
    }

    private async Task<int> FillAsync(CancellationToken cancel)
    {
        start = 0;
        end = await Socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, cancel);
        return end;
    }

    public void Dispose() => Socket.Dispose();
}
