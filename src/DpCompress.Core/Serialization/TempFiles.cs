using System.Text.RegularExpressions;

namespace DpCompress.Core.Serialization;

/// <summary>
/// The temporary files our writers create beside their target (<c>.&lt;name&gt;.&lt;32 hex&gt;.tmp</c>,
/// moved over the target only when complete) and the safe removal of those a killed process left.
/// </summary>
public static class TempFiles
{
    /// <summary>A temporary file left this long without a write (and not held open by a writer) is stale.</summary>
    public static readonly TimeSpan StaleAge = TimeSpan.FromMinutes(10);

    /// <summary>A new temporary path beside <paramref name="fullTarget"/>.</summary>
    public static string NewTempPath(string fullTarget) =>
        Path.Combine(Path.GetDirectoryName(fullTarget) ?? ".", $".{Path.GetFileName(fullTarget)}.{Guid.NewGuid():N}.tmp");

    /// <summary>
    /// Deletes stale temporary files of <paramref name="fullTarget"/>: only names of our exact pattern
    /// for that target, last written more than <see cref="StaleAge"/> ago, and only when no writer
    /// holds them (a live writer keeps its file open with FileShare.None, which is an exclusive lock
    /// here). Never throws: a file that cannot be checked or removed is left alone.
    /// </summary>
    /// <returns>the number of files removed</returns>
    public static int CleanStale(string fullTarget)
    {
        string? dir = Path.GetDirectoryName(fullTarget);
        if (dir is null) return 0;
        var pattern = new Regex("^\\." + Regex.Escape(Path.GetFileName(fullTarget)) + "\\.[0-9a-f]{32}\\.tmp$", RegexOptions.CultureInvariant);
        int removed = 0;
        try
        {
            foreach (string file in Directory.EnumerateFiles(dir, $".{Path.GetFileName(fullTarget)}.*.tmp"))
            {
                if (!pattern.IsMatch(Path.GetFileName(file))) continue;
                try
                {
                    var info = new FileInfo(file);
                    if ((info.Attributes & FileAttributes.ReparsePoint) != 0) continue;
                    if (DateTime.UtcNow - info.LastWriteTimeUtc < StaleAge) continue;
                    using (new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                    {
                        // opened exclusively: no writer holds it
                    }
                    File.Delete(file);
                    removed++;
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return removed;
    }
}
