using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Structures;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Base of every DpCompress cmdlet: turns <see cref="DpCompressException"/> into ErrorRecords
/// with the exception's PascalCase id and category, cancels long work on Ctrl-C, and resolves paths.
/// </summary>
public abstract class DpCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Cancelled when the user presses Ctrl-C (StopProcessing).</summary>
    protected CancellationToken CancelToken => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>One verbose line that says which table layout a grid has and why (issue 11: the chosen dx is stated).</summary>
    internal static string DescribeGrid(Core.Compression.SijGrid g) => g.Layout == Core.Compression.TableLayout.Pwmlff
        ? $"PWMLFF runtime layout: dx {g.Dx:G6} = 2^{Math.ILogB(g.Dx)}, the largest power of two not above the requested {g.RequestedDx ?? g.Dx:G6}; " +
          $"start {g.SMin:G6} = {g.SMin / g.Dx:F0}·dx; inner end {g.InnerEnd:G6} (pairs down to {g.CoverDistance:F3} Å stay in PWMLFF's inner branch); " +
          $"{g.InnerIntervals} inner + {g.OuterPoints} outer nodes ({g.Rows} rows). Use -Layout Exact for exactly the dx typed."
        : $"Exact layout (dx as typed): {g}.";

    /// <summary>Maps a Core error kind onto PowerShell's ErrorCategory.</summary>
    internal static ErrorCategory ToCategory(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidData => ErrorCategory.InvalidData,
        ErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        ErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        ErrorKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
        ErrorKind.WriteError => ErrorCategory.WriteError,
        ErrorKind.NotImplemented => ErrorCategory.NotImplemented,
        ErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        ErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>An ErrorRecord for a Core error; the target is the path when there is one.</summary>
    protected static ErrorRecord ToErrorRecord(DpCompressException e, object? target = null) =>
        new(e, e.ErrorId, ToCategory(e.Kind), target ?? e.Path);

    protected static ErrorRecord NewError(string id, ErrorCategory category, string message, object? target, Exception? inner = null) =>
        new(new DpCompressException(id, ErrorKind.InvalidArgument, message, target as string, inner), id, category, target);

    /// <summary>Reports a non-terminating error (one bad item among many).</summary>
    protected void WriteDpError(DpCompressException e, object? target = null) => WriteError(ToErrorRecord(e, target));

    /// <summary>Stops the command with a terminating error.</summary>
    protected void ThrowDpError(DpCompressException e, object? target = null) => ThrowTerminatingError(ToErrorRecord(e, target));

    /// <summary>
    /// Resolves -Path (wildcards) or -LiteralPath into provider paths of the FileSystem; a
    /// path that matches nothing is reported as ObjectNotFound (<paramref name="notFoundId"/>).
    /// </summary>
    protected IEnumerable<string> ResolvePaths(string[]? paths, bool literal, string notFoundId)
    {
        foreach (string p in paths ?? Array.Empty<string>())
        {
            var resolved = new List<string>();
            try
            {
                if (literal)
                {
                    resolved.Add(SessionState.Path.GetUnresolvedProviderPathFromPSPath(p));
                }
                else
                {
                    resolved.AddRange(GetResolvedProviderPathFromPSPath(p, out ProviderInfo provider));
                    if (provider.Name != "FileSystem")
                    {
                        WriteError(NewError("PathNotFileSystem", ErrorCategory.InvalidArgument, $"'{p}' is not a file-system path.", p));
                        continue;
                    }
                }
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(new DpCompressException(notFoundId, ErrorKind.ObjectNotFound, $"Cannot find path '{p}' because it does not exist.", p, e), notFoundId, ErrorCategory.ObjectNotFound, p));
                continue;
            }
            catch (Exception e) when (e is PSArgumentException or ArgumentException or ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or System.Management.Automation.PSNotSupportedException)
            {
                WriteError(new ErrorRecord(new DpCompressException(notFoundId, ErrorKind.ObjectNotFound, $"Cannot resolve path '{p}': {e.Message}", p, e), notFoundId, ErrorCategory.ObjectNotFound, p));
                continue;
            }
            foreach (string r in resolved) yield return r;
        }
    }

    /// <summary>A file-system path relative to the current location, for output paths.</summary>
    protected string ResolveOutputPath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>
    /// Runs <paramref name="work"/> on a worker task while this (pipeline) thread writes its
    /// progress — cmdlet output is only allowed from the pipeline thread. Ctrl-C cancels the
    /// token given to the work and stops the pipeline.
    /// </summary>
    protected T RunWithProgress<T>(string activity, Func<Action<int, int, string>, CancellationToken, T> work, int activityId = 1)
    {
        int done = 0, total = 0;
        string status = "Starting";
        var gate = new object();
        var task = Task.Run(() => work((d, t, s) => { lock (gate) { done = d; total = t; status = s; } }, CancelToken));
        var throttle = new ProgressThrottle(this, activityId, activity);
        while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(100))
        {
            int d, t; string s;
            lock (gate) { d = done; t = total; s = status; }
            throttle.Report(s, d, t);
        }
        throttle.Complete();
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception e) when (e is not DpCompressException and not PipelineStoppedException)
        {
            throw Unexpected(e);
        }
    }

    /// <summary>
    /// Wraps an exception that no input check anticipated (a bug, or a native library failure) so
    /// the user sees one clear line with an id, not a stack trace; the original stays inner.
    /// </summary>
    internal static DpCompressException Unexpected(Exception e)
    {
        string first = e.Message.Split('\n', 2)[0].Trim();
        return new DpCompressException("UnexpectedError", ErrorKind.InvalidOperation,
            $"Unexpected {e.GetType().Name}: {first} (please report this with the input that caused it).", null, e);
    }

    /// <summary>
    /// Turns -Data items into configurations: Configuration objects pass through; strings
    /// (wildcards allowed), FileInfo and DirectoryInfo are read with the format detected from the
    /// path (PWdata folder, MOVEMENT, extended XYZ). Unreadable items are reported and skipped.
    /// </summary>
    protected List<Configuration> ResolveConfigurations(IEnumerable<object> data)
    {
        var result = new List<Configuration>();
        foreach (object raw in data)
        {
            object item = raw is PSObject pso ? pso.BaseObject : raw;
            switch (item)
            {
                case Configuration c:
                    result.Add(c);
                    break;
                case Configuration[] cs:
                    result.AddRange(cs);
                    break;
                case FileSystemInfo fsi:
                    ReadConfigurations(fsi.FullName, result);
                    break;
                case string path:
                    foreach (string p in ResolvePaths(new[] { path }, false, "ConfigurationNotFound")) ReadConfigurations(p, result);
                    break;
                default:
                    WriteError(new ErrorRecord(new DpCompressException("InvalidConfigurationInput", ErrorKind.InvalidArgument,
                        $"Cannot use an object of type {item?.GetType().Name ?? "null"} as configuration data: give Configuration objects (Import-DpConfiguration) or paths."),
                        "InvalidConfigurationInput", ErrorCategory.InvalidArgument, item));
                    break;
            }
        }
        return result;
    }

    private void ReadConfigurations(string path, List<Configuration> into)
    {
        try
        {
            var warnings = new List<string>();
            into.AddRange(ConfigurationReader.Read(path, warnings));
            foreach (string w in warnings) WriteWarning(w);
        }
        catch (DpCompressException e)
        {
            WriteDpError(e, path);
        }
    }

    /// <summary>Write-Progress at most every 200 ms, and always for the final (completed) record.</summary>
    protected sealed class ProgressThrottle
    {
        private readonly DpCmdlet _cmdlet;
        private readonly int _activityId;
        private readonly string _activity;
        private long _lastTicks;

        public ProgressThrottle(DpCmdlet cmdlet, int activityId, string activity)
        {
            _cmdlet = cmdlet;
            _activityId = activityId;
            _activity = activity;
        }

        public void Report(string status, int done, int total)
        {
            long now = Environment.TickCount64;
            if (now - _lastTicks < 200 && done < total) return;
            _lastTicks = now;
            var record = new ProgressRecord(_activityId, _activity, status)
            {
                PercentComplete = total > 0 ? Math.Clamp(done * 100 / total, 0, 100) : -1,
            };
            _cmdlet.WriteProgress(record);
        }

        public void Complete()
        {
            _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
