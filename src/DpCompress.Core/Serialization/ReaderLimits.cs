namespace DpCompress.Core.Serialization;

/// <summary>
/// The bounds every checkpoint read obeys, so that a hostile or broken file ends in an error with
/// an id (within about a second) instead of a huge allocation, a hang or a raw .NET exception.
/// Each limit is far above what a real PWMLFF checkpoint needs (the largest real file we know, an
/// order-5 table of ≈460 MB, uses a fraction of each) and has its own error id (ErrorKind.LimitsExceeded).
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>CheckpointTooLarge</term><description>one zip record (data.pkl or a storage) over 2 GiB − 64 bytes (.NET array limit).</description></item>
/// <item><term>CheckpointExpansionTooLarge</term><description>deflated records that expand to more than
/// <see cref="ExpansionAllowance"/> + <see cref="MaxExpansionRatio"/> × the file size in total (zip bombs; torch writes STORED records).</description></item>
/// <item><term>CheckpointPickleStackTooDeep</term><description>more than <see cref="MaxPickleStack"/> values or marks on the pickle stack.</description></item>
/// <item><term>CheckpointPickleMemoTooLarge</term><description>more than <see cref="MaxPickleMemo"/> memo entries.</description></item>
/// <item><term>CheckpointContainerTooLarge</term><description>a list, tuple or dict of more than <see cref="MaxContainerItems"/> items.</description></item>
/// <item><term>CheckpointIntegerTooLong</term><description>a pickled integer of more than <see cref="MaxIntegerBytes"/> bytes.</description></item>
/// <item><term>CheckpointNestingTooDeep</term><description>containers nested deeper than <see cref="SafeUnpickler.MaxDepth"/> levels.</description></item>
/// <item><term>CheckpointMemoryBudgetExceeded</term><description>what reading builds (strings, bytes, containers, arrays, tensor copies)
/// exceeds <see cref="BudgetAllowance"/> + <see cref="PickleBudgetFactor"/> × data.pkl size + the storage bytes:
/// catches DUP/APPEND floods, repeated views of one storage and other amplification.</description></item>
/// <item><term>CheckpointTensorViewInvalid</term><description>a tensor view with a zero, negative or overlapping stride
/// (torch.save of a PWMLFF model never writes one), or with more elements than its storage.</description></item>
/// </list>
/// </remarks>
public static class ReaderLimits
{
    /// <summary>Largest single zip record read into memory.</summary>
    public const long MaxRecordBytes = int.MaxValue - 64;

    /// <summary>Deflated records may expand to this many bytes in total beyond <see cref="MaxExpansionRatio"/> × file size.</summary>
    public const long ExpansionAllowance = 64L << 20;

    /// <summary>Total expansion of deflated records relative to the file size (real tensors compress about 1.1:1).</summary>
    public const long MaxExpansionRatio = 16;

    /// <summary>Values plus marks on the pickle stack (a real checkpoint needs a few thousand).</summary>
    public const int MaxPickleStack = 1_000_000;

    /// <summary>Memo entries (a real checkpoint uses one per object, a few thousand).</summary>
    public const int MaxPickleMemo = 1_000_000;

    /// <summary>Items of one list, tuple or dict (a real checkpoint's largest, the state_dict, holds a few hundred).</summary>
    public const int MaxContainerItems = 100_000;

    /// <summary>Bytes of one pickled integer (LONG1/LONG4/INT text is limited to the same number of bits); real ones fit in 8.</summary>
    public const int MaxIntegerBytes = 64;

    /// <summary>Fixed part of the memory budget of one read.</summary>
    public const long BudgetAllowance = 1L << 20;

    /// <summary>Memory budget per byte of data.pkl (protocol-2 numpy data is a latin-1 str: UTF-16 text, then bytes, then the array).</summary>
    public const long PickleBudgetFactor = 4;

    /// <summary>Characters of attacker-controlled text an error message may quote.</summary>
    public const int MaxExcerpt = 60;

    /// <summary>
    /// True for an exception a reader did not anticipate (anything but our own errors and a
    /// cancellation): the reader's public entry point turns it into an error with an id.
    /// </summary>
    public static bool IsUnexpected(Exception e) => e is not DpCompressException and not OperationCanceledException;

    /// <summary>
    /// An unexpected exception of a reader as an error with an id (<paramref name="errorId"/>, InvalidData;
    /// LimitsExceeded for OutOfMemoryException), keeping it as the inner exception.
    /// </summary>
    public static DpCompressException Unexpected(string errorId, Exception e, string? path) =>
        e is OutOfMemoryException or InsufficientExecutionStackException
            ? new(errorId, ErrorKind.LimitsExceeded, $"Reading '{path}' ran out of memory or stack ({e.GetType().Name}); the file is too large or malformed.", path, e)
            : new(errorId, ErrorKind.InvalidData, $"'{path}' could not be read: an unexpected {e.GetType().Name} ({Excerpt(e.Message)}). The file is malformed; please report it if it is not.", path, e);

    /// <summary>A short, printable excerpt of untrusted text for an error message.</summary>
    public static string Excerpt(string? s)
    {
        if (s is null) return "";
        var chars = new System.Text.StringBuilder(Math.Min(s.Length, MaxExcerpt) + 24);
        for (int i = 0; i < s.Length && i < MaxExcerpt; i++) chars.Append(char.IsControl(s[i]) ? '?' : s[i]);
        if (s.Length > MaxExcerpt) chars.Append($"… ({s.Length} characters)");
        return chars.ToString();
    }
}

/// <summary>
/// Counts what one checkpoint read allocates on behalf of the file and refuses the read with
/// <c>CheckpointMemoryBudgetExceeded</c> once the total passes <see cref="Limit"/> (see <see cref="ReaderLimits"/>).
/// </summary>
public sealed class ReadBudget
{
    private long _used;

    /// <param name="limit">bytes the read may allocate</param>
    /// <param name="path">file named in the error</param>
    public ReadBudget(long limit, string? path = null)
    {
        Limit = limit;
        Path = path;
    }

    /// <summary>A budget without a limit (for in-memory pickles the caller trusts).</summary>
    public static ReadBudget Unlimited => new(long.MaxValue);

    /// <summary>The budget of a read of a pickle of <paramref name="pickleBytes"/> and storages of <paramref name="storageBytes"/> in total.</summary>
    public static ReadBudget ForCheckpoint(long pickleBytes, long storageBytes, string? path) =>
        new(ReaderLimits.BudgetAllowance + ReaderLimits.PickleBudgetFactor * pickleBytes + storageBytes, path);

    public long Limit { get; }

    public long Used => _used;

    public string? Path { get; }

    /// <summary>Adds <paramref name="bytes"/> (non-negative) for <paramref name="what"/>; throws when over the limit.</summary>
    public void Charge(long bytes, string what)
    {
        if (bytes < 0 || bytes > Limit - _used)
            throw new DpCompressException("CheckpointMemoryBudgetExceeded", ErrorKind.LimitsExceeded,
                $"Reading the checkpoint{(Path is null ? "" : $" '{Path}'")} would allocate more than {Limit / (1 << 20)} MiB " +
                $"(at {what}); a real checkpoint of this size needs far less, so the file is malformed or hostile.", Path);
        _used += bytes;
    }
}
