using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Blueboat.Supervisor.Transport.IoUring;

/// <summary>
/// 4 KiB blocks from the pinned object heap, reused: pipe segments the ring sends from need a
/// stable address, and pinning them here costs nothing per send (no GCHandle). Kestrel's own
/// pinned pool is internal to it, hence this small one.
/// </summary>
internal sealed class PinnedBlockPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;
    private readonly ConcurrentQueue<Block> free = new();
    private readonly int maxRetained;

    public PinnedBlockPool(int maxRetained = 16 * 1024) => this.maxRetained = maxRetained;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), $"blocks are {BlockSize} bytes");
        return free.TryDequeue(out var block) ? block.Lease() : new Block(this);
    }

    protected override void Dispose(bool disposing) { }

    private void Return(Block block)
    {
        if (free.Count < maxRetained) free.Enqueue(block);
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly PinnedBlockPool pool;
        private int leased = 1;

        public Block(PinnedBlockPool pool)
        {
            this.pool = pool;
            Memory = MemoryMarshal.CreateFromPinnedArray(GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true), 0, BlockSize);
        }

        public Memory<byte> Memory { get; }

        public Block Lease()
        {
            leased = 1;
            return this;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref leased, 0) == 1) pool.Return(this);
        }
    }
}
