namespace DpCompress.Core;

/// <summary>Category of a DpCompress error; the cmdlets map it 1:1 onto PowerShell's ErrorCategory.</summary>
public enum ErrorKind
{
    InvalidData,
    ObjectNotFound,
    InvalidArgument,
    InvalidOperation,
    LimitsExceeded,
    WriteError,
    NotImplemented,
    OperationStopped,
    ResourceUnavailable,
}

/// <summary>
/// An error a user can act on: a PascalCase <see cref="ErrorId"/> (asserted by tests), a
/// category, the file concerned (if any) and the original exception kept as inner exception.
/// </summary>
public sealed class DpCompressException : Exception
{
    public DpCompressException(string errorId, ErrorKind kind, string message, string? path = null, Exception? inner = null)
        : base(Cap(message), inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Path = path;
    }

    /// <summary>PascalCase identifier, e.g. CheckpointForbiddenGlobal.</summary>
    public string ErrorId { get; }

    public ErrorKind Kind { get; }

    /// <summary>The file or folder the error is about, or null.</summary>
    public string? Path { get; }

    /// <summary>Longest message kept; a longer one (which can only come from quoting a hostile file) is cut in the middle.</summary>
    public const int MaxMessageLength = 2000;

    private static string Cap(string message) =>
        message is null || message.Length <= MaxMessageLength
            ? message ?? ""
            : string.Concat(message.AsSpan(0, MaxMessageLength - 300), $" …({message.Length - MaxMessageLength + 200} characters cut)… ", message.AsSpan(message.Length - 100));
}
