using System.Buffers;
using Blueboat.Channel;

namespace Blueboat.Supervisor.Workers;

/// <summary>A complete response from a worker: its head and the whole body.</summary>
public sealed class WorkerResponse(ResponseHead head, ArrayBufferWriter<byte> body)
{
    public ResponseHead Head { get; } = head;
    public ReadOnlyMemory<byte> Body => body.WrittenMemory;
}
