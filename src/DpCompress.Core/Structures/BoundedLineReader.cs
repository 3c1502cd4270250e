using System.Text;

namespace DpCompress.Core.Structures;

/// <summary>
/// Reads the lines of a text configuration file (MOVEMENT, extended XYZ) like
/// <see cref="TextReader.ReadLine"/> (terminators \n, \r\n and \r), refusing a line longer than
/// <see cref="MaxLineLength"/> characters before it is allocated whole.
/// </summary>
/// <remarks>
/// <see cref="StreamReader.ReadLine"/> builds a line of any length. A 200 MB XYZ comment line
/// made Import-DpConfiguration take 1.8 GB and 8 s, and a 200 MB atom line of 100 million
/// columns 5.5 GB and 33 s (one string per column); a larger file ran out of memory. No
/// atom line or comment line either format writes comes near 1 MiB characters.
/// </remarks>
internal sealed class BoundedLineReader : TextReader
{
    /// <summary>Longest line accepted (characters, terminator excluded): 1 MiB.</summary>
    public const int MaxLineLength = 1 << 20;

    private readonly TextReader _inner;
    private readonly string _path;
    private readonly char[] _buffer = new char[1 << 16];
    private int _pos, _end;

    public BoundedLineReader(TextReader inner, string path)
    {
        _inner = inner;
        _path = path;
    }

    /// <summary>Lines returned so far (the 1-based number of the last one).</summary>
    public int LineNumber { get; private set; }

    /// <inheritdoc/>
    /// <exception cref="DpCompressException">ConfigurationLineTooLong (LimitsExceeded) for a line of more than <see cref="MaxLineLength"/> characters.</exception>
    public override string? ReadLine()
    {
        StringBuilder? partial = null;
        while (true)
        {
            if (_pos == _end && !Fill())
            {
                if (partial is null) return null;
                LineNumber++;
                return partial.ToString();
            }
            var span = _buffer.AsSpan(_pos, _end - _pos);
            int k = span.IndexOfAny('\r', '\n');
            int take = k < 0 ? span.Length : k;
            if ((partial?.Length ?? 0) + take > MaxLineLength)
                throw new DpCompressException("ConfigurationLineTooLong", ErrorKind.LimitsExceeded,
                    $"'{_path}', line {LineNumber + 1}: the line is longer than {MaxLineLength} characters; no MOVEMENT or extended XYZ line is that long.", _path);
            if (k < 0)
            {
                (partial ??= new StringBuilder()).Append(span);
                _pos = _end;
                continue;
            }
            string line = partial is null ? new string(span[..k]) : partial.Append(span[..k]).ToString();
            bool cr = span[k] == '\r';
            _pos += k + 1;
            if (cr && (_pos < _end || Fill()) && _buffer[_pos] == '\n') _pos++;
            LineNumber++;
            return line;
        }
    }

    /// <inheritdoc/>
    public override int Peek() => _pos < _end || Fill() ? _buffer[_pos] : -1;

    /// <inheritdoc/>
    public override int Read() => _pos < _end || Fill() ? _buffer[_pos++] : -1;

    private bool Fill()
    {
        _pos = 0;
        _end = _inner.Read(_buffer, 0, _buffer.Length);
        return _end > 0;
    }
}
