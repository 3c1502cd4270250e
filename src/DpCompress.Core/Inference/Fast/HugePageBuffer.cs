using System.Runtime.InteropServices;

namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// Native memory for the table kernels' coefficient rows: zeroed, aligned to 2 MiB (so every row of a
/// whole number of cache lines starts on a line) and, on Linux, advised for transparent huge pages
/// (madvise MADV_HUGEPAGE) before its first write, so the kernel backs it with 2 MiB pages where it can.
/// </summary>
/// <remarks>
/// A compressed model reads one row per neighbour slot, wherever its s falls, so one evaluation's reads
/// spread over the whole table: tens of megabytes at dx 0.01, hundreds at dx 0.001. In a managed array
/// (16-byte aligned) an 896-byte order-3 row spans 15 cache lines instead of 14, and with 4 KiB pages
/// nearly every row is on its own page, beyond what the TLB covers (3,072 second-level entries, 12 MiB).
/// Measured on the 500-atom alloy5 cell, one thread, fastest of 30 interleaved passes with the neighbour
/// list rebuilt before each: order 3 dx 0.001 4.82–4.98 → 4.38–4.56 ms, order 5 dx 0.001 5.91–6.13 →
/// 5.09–5.57 ms; dx 0.01 unchanged. Where the system gives no huge pages (THP "never", other operating
/// systems, fragmented memory) the buffer is ordinary aligned memory: only where the values live changes,
/// never a value. The memory is returned by <see cref="Dispose"/> or, failing that, the finalizer; the
/// owner keeps the buffer reachable while it reads through <see cref="Pointer"/>.
/// </remarks>
internal sealed unsafe class HugePageBuffer : IDisposable
{
    private const nuint Alignment = 2 << 20;
    private nint _address;
    private readonly long _bytes;

    /// <summary>Allocates <paramref name="length"/> doubles, all zero.</summary>
    /// <param name="length">Element count (1 to <see cref="Array.MaxLength"/>).</param>
    /// <exception cref="OutOfMemoryException">The system has not that much memory.</exception>
    public HugePageBuffer(long length)
    {
        if (length <= 0 || length > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(length));
        Length = (int)length;
        _bytes = length * sizeof(double);
        nuint size = ((nuint)_bytes + Alignment - 1) & ~(Alignment - 1);
        _address = (nint)NativeMemory.AlignedAlloc(size, Alignment);
        HugePages = Fast.HugePages.Advise((void*)_address, size);
        GC.AddMemoryPressure(_bytes);
        AsSpan().Clear();
    }

    /// <summary>Element count.</summary>
    public int Length { get; }

    /// <summary>True when the system accepted the huge-page advice (it may still use small pages where memory is fragmented).</summary>
    public bool HugePages { get; }

    /// <summary>Address of the first element (0 once disposed).</summary>
    internal nint Address => _address;

    /// <summary>The first element; valid until <see cref="Dispose"/>.</summary>
    public double* Pointer => _address != 0 ? (double*)_address : throw new ObjectDisposedException(nameof(HugePageBuffer));

    /// <summary>The elements as a span.</summary>
    public Span<double> AsSpan() => new(Pointer, Length);

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~HugePageBuffer() => Free();

    private void Free()
    {
        nint p = Interlocked.Exchange(ref _address, 0);
        if (p == 0) return;
        NativeMemory.AlignedFree((void*)p);
        GC.RemoveMemoryPressure(_bytes);
    }
}
