using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// Transparent huge pages (Linux, THP "madvise" or "always") for large buffers that are written once in full
/// (table coefficients, checkpoint records):
/// the advice (madvise MADV_HUGEPAGE) before the first write lets the kernel back them with 2 MiB pages, one
/// page fault per 2 MiB instead of one per 4 KiB. Elsewhere, or where the kernel refuses, nothing changes:
/// only how the memory is mapped, never a value.
/// </summary>
internal static unsafe class HugePages
{
    private const long PageBytes = 2 << 20;
    private const int MadvHugePage = 14;   // linux/mman.h

    /// <summary>Arrays of at least 32 MiB are worth the advice: sixteen 2 MiB pages or more.</summary>
    internal const long MinArrayBytes = 32L << 20;

    /// <summary>Advises [p, p + bytes) for huge pages; false where the system does not take the advice.</summary>
    public static bool Advise(void* p, nuint bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes == 0) return false;
        try
        {
            return Madvise(p, bytes, MadvHugePage) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// A zeroed managed array of <paramref name="length"/> doubles for a table about to be written in full
    /// (<see cref="NewArray{T}(long, bool)"/>).
    /// </summary>
    /// <remarks>
    /// A fresh array from the garbage collector is backed by pages the kernel maps on first write, 4 KiB at a
    /// time; on this virtual machine each fault costs microseconds, so the first 460 MB table (order 5, dx 0.001,
    /// 25 nets) of a process spent most of its compression time in page faults. Measured (`Compressor.Compress`,
    /// alloy5 model, order 5, dx 0.001, one thread, first call in a fresh process, three processes each
    /// alternating): 2.27–3.23 s with a plain array, 1.32–1.87 s with this one (later calls in the same process
    /// 0.40–0.62 s either way).
    /// </remarks>
    public static double[] ZeroedDoubles(long length) => NewArray<double>(length, zeroed: true);

    /// <summary>
    /// A managed array of <paramref name="length"/> elements. Large ones (<see cref="MinArrayBytes"/> or more) are
    /// allocated uninitialised and their whole 2 MiB pages advised for huge pages; then, if
    /// <paramref name="zeroed"/>, cleared (which faults them in as huge pages). Without <paramref name="zeroed"/>
    /// a large array may hold stale values: only for a caller that writes every element before anything reads it.
    /// </summary>
    public static T[] NewArray<T>(long length, bool zeroed) where T : unmanaged
    {
        if (length * sizeof(T) < MinArrayBytes || !OperatingSystem.IsLinux()) return new T[length];
        var a = GC.AllocateUninitializedArray<T>(checked((int)length));
        // The advice applies to whole pages inside the array; large arrays are not moved by the collector (and
        // if one were, only where huge pages are used would change).
        long start = (long)Unsafe.AsPointer(ref a[0]), end = start + length * sizeof(T);
        long lo = (start + PageBytes - 1) & ~(PageBytes - 1), hi = end & ~(PageBytes - 1);
        if (hi > lo) Advise((void*)lo, (nuint)(hi - lo));
        if (zeroed) a.AsSpan().Clear();
        return a;
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(void* addr, nuint length, int advice);
}
