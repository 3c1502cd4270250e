// A seeded mutation fuzzer for the checkpoint and configuration readers (issue 14). Compiled by
// tests/Fuzz/Fuzz.psm1 with Add-Type against the built DpCompress.Core.dll; used by
// tests/Pester/Fuzz.Tests.ps1 (a few hundred cases) and `build.ps1 Fuzz` (thousands).
//
// Every case mutates one shipped file, reads it on a worker thread and classifies the outcome:
//   Unchanged  - imported, and the model (every number it holds) equals the unmutated file's
//   Error      - a DpCompressException, i.e. an error with an id
//   ReSigned   - imported with different numbers after an edit whose zip CRC was recomputed
//                (a valid file with other content: not detectable, counted, not a failure)
//   Different  - FAILURE: imported with different numbers from a raw (un-re-signed) mutation
//   Raw        - FAILURE: any other exception
//   Hang       - FAILURE: not finished within the time bound
//   Memory     - FAILURE: allocated more than 2 x (allocation of the unmutated file) x max(1, size ratio)
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using DpCompress.Core;
using DpCompress.Core.Model;
using DpCompress.Core.Serialization;
using DpCompress.Core.Structures;

namespace DpFuzz
{
    public sealed class FuzzCase
    {
        public int Index { get; set; }
        public string Seed { get; set; } = "";
        public string Mutation { get; set; } = "";
        public string Outcome { get; set; } = "";
        public string Detail { get; set; } = "";
        public double Seconds { get; set; }
        public long Allocated { get; set; }
        public long AllocationBound { get; set; }
        public bool Failed => Outcome is "Different" or "Raw" or "Hang" or "Memory";
        public override string ToString() => $"#{Index} {Path.GetFileName(Seed)} {Mutation}: {Outcome} {Detail} ({Seconds:F2} s, {Allocated >> 10} KiB of {AllocationBound >> 10})";
    }

    public sealed class Fuzzer
    {
        private readonly Random _rng;
        private readonly string _work;
        private readonly TimeSpan _timeLimit;
        private readonly Dictionary<string, (string Fingerprint, long Allocated, long Length)> _baseline = new();

        public Fuzzer(int seed, string workDir, double timeLimitSeconds)
        {
            _rng = new Random(seed);
            _work = workDir;
            _timeLimit = TimeSpan.FromSeconds(timeLimitSeconds);
            Directory.CreateDirectory(workDir);
        }

        public static bool IsCheckpoint(string path) => path.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase);

        /// <summary>DeePMD-kit .dp (HDF5) and .yaml models: no integrity check in the format, so an import with other numbers is not a failure.</summary>
        public static bool IsDeepMd(string path) => path.EndsWith(".dp", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase);

        /// <summary>Runs <paramref name="cases"/> cases over the seed files; stops early after a hang.</summary>
        public List<FuzzCase> Run(IReadOnlyList<string> seeds, int cases)
        {
            foreach (string s in seeds) Baseline(s);
            var results = new List<FuzzCase>(cases);
            for (int i = 0; i < cases; i++)
            {
                string seed = seeds[i % seeds.Count];
                var c = RunCase(i, seed);
                results.Add(c);
                if (c.Outcome == "Hang") break;
            }
            return results;
        }

        private void Baseline(string seed)
        {
            Read(seed); // warm-up: JIT and static tables are not the file's allocations
            long before = GC.GetAllocatedBytesForCurrentThread();
            string fp = Read(seed);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            _baseline[seed] = (fp, allocated, new FileInfo(seed).Length);
        }

        /// <summary>Reads a file; returns a fingerprint of everything the result holds.</summary>
        public static string Read(string path)
        {
            if (IsCheckpoint(path)) return Fingerprint(CheckpointReader.Read(path));
            if (IsDeepMd(path)) return Fingerprint(DpCompress.Core.Serialization.DeepMd.DeepMdModelReader.Read(path));
            var frames = ConfigurationReader.Read(path);
            return "frames:" + frames.Count;
        }

        private FuzzCase RunCase(int index, string seed)
        {
            byte[] original = File.ReadAllBytes(seed);
            bool checkpoint = IsCheckpoint(seed) || IsDeepMd(seed);
            var (bytes, mutation, resigned) = IsCheckpoint(seed) ? MutateCheckpoint(original) : IsDeepMd(seed) ? MutateRaw(original) : MutateText(original);
            string file = Path.Combine(_work, $"case{index % 4}{Path.GetExtension(seed)}");
            File.WriteAllBytes(file, bytes);
            var baseline = _baseline[seed];
            long bound = (long)(2.0 * baseline.Allocated * Math.Max(1.0, (double)bytes.Length / baseline.Length));
            var c = new FuzzCase { Index = index, Seed = seed, Mutation = mutation, AllocationBound = bound };
            var sw = Stopwatch.StartNew();
            var task = Task.Factory.StartNew(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    string fp = Read(file);
                    return (Fp: fp, Error: (Exception?)null, Alloc: GC.GetAllocatedBytesForCurrentThread() - before);
                }
                catch (Exception e)
                {
                    return (Fp: (string?)null, Error: e, Alloc: GC.GetAllocatedBytesForCurrentThread() - before);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (!task.Wait(_timeLimit))
            {
                c.Outcome = "Hang";
                c.Seconds = sw.Elapsed.TotalSeconds;
                return c;
            }
            c.Seconds = sw.Elapsed.TotalSeconds;
            var r = task.Result;
            c.Allocated = r.Alloc;
            if (r.Error is DpCompressException dp)
            {
                c.Outcome = "Error";
                c.Detail = dp.ErrorId;
            }
            else if (r.Error is not null)
            {
                c.Outcome = "Raw";
                c.Detail = r.Error.GetType().Name + ": " + Short(r.Error.Message);
            }
            else if (!checkpoint || r.Fp == baseline.Fingerprint)
            {
                c.Outcome = "Unchanged";
            }
            else
            {
                c.Outcome = resigned ? "ReSigned" : "Different";
            }
            if (!c.Failed && c.Allocated > bound)
            {
                c.Outcome = "Memory";
                c.Detail += $" allocated {c.Allocated} > {bound}";
            }
            return c;
        }

        private static string Short(string s) => s.Length > 160 ? s[..160] + "…" : s;

        // ------------------------------------------------------------------ checkpoint mutations

        private (byte[] Bytes, string Name, bool ReSigned) MutateCheckpoint(byte[] file)
        {
            int kind = _rng.Next(100);
            if (kind < 35) return (FlipBits(file), "raw-bitflip", false);
            if (kind < 42) return (Truncate(file), "raw-truncate", false);
            if (kind < 50) return (OverwriteWord(file), "raw-word", false);
            if (kind < 55) return (InsertDelete(file), "raw-insert-delete", false);
            // Pickle-level edits, re-zipped with correct CRCs so the unpickler sees them.
            var records = ReadRecords(file);
            string pklName = records.Keys.First(k => k.EndsWith("/data.pkl", StringComparison.Ordinal));
            byte[] pkl = records[pklName];
            string name;
            if (kind < 62) { pkl = FlipBits(pkl); name = "pkl-bitflip"; }
            else if (kind < 68) { pkl = EditInteger(pkl); name = "pkl-size-shape-edit"; }
            else if (kind < 72) { pkl = ZeroSmallInt(pkl); name = "pkl-stride0"; }
            else if (kind < 76) { pkl = InsertBeforeStop(pkl, DeepNesting()); name = "pkl-deep-nesting"; }
            else if (kind < 81) { pkl = InsertBeforeStop(pkl, OpcodeFlood()); name = "pkl-opcode-flood"; }
            else if (kind < 85) { pkl = InsertBeforeStop(pkl, LongString()); name = "pkl-long-string"; }
            else if (kind < 89) { pkl = InsertBeforeStop(pkl, LongInteger()); name = "pkl-long-integer"; }
            else if (kind < 91) { pkl = InsertBeforeStop(pkl, HugeDict()); name = "pkl-huge-dict"; }
            else if (kind < 95) { pkl = Truncate(pkl); name = "pkl-truncate"; }
            else
            {
                var storages = records.Keys.Where(k => k.Contains("/data/", StringComparison.Ordinal)).ToList();
                string victim = storages[_rng.Next(storages.Count)];
                if (_rng.Next(2) == 0) { records.Remove(victim); name = "storage-remove"; }
                else { records[victim] = records[victim][..(records[victim].Length / 2)]; name = "storage-truncate"; }
            }
            records[pklName] = pkl;
            return (WriteRecords(records), name, true);
        }

        private (byte[] Bytes, string Name, bool ReSigned) MutateRaw(byte[] file)
        {
            int kind = _rng.Next(100);
            if (kind < 50) return (FlipBits(file), "dp-bitflip", true);
            if (kind < 65) return (Truncate(file), "dp-truncate", true);
            if (kind < 85) return (OverwriteWord(file), "dp-word", true);
            return (InsertDelete(file), "dp-insert-delete", true);
        }

        private byte[] FlipBits(byte[] data)
        {
            var b = (byte[])data.Clone();
            int n = 1 + _rng.Next(8);
            for (int i = 0; i < n; i++) b[_rng.Next(b.Length)] ^= (byte)(1 << _rng.Next(8));
            return b;
        }

        private byte[] Truncate(byte[] data) => data[.._rng.Next(data.Length)];

        private byte[] OverwriteWord(byte[] data)
        {
            var b = (byte[])data.Clone();
            int at = _rng.Next(Math.Max(1, b.Length - 4));
            uint v = _rng.Next(4) switch { 0 => 0u, 1 => 0xFFFFFFFFu, 2 => 0x7FFFFFFFu, _ => (uint)_rng.Next() };
            BitConverter.GetBytes(v).CopyTo(b, at);
            return b;
        }

        private byte[] InsertDelete(byte[] data)
        {
            int at = _rng.Next(data.Length);
            int n = 1 + _rng.Next(64);
            if (_rng.Next(2) == 0)
            {
                var extra = new byte[n];
                _rng.NextBytes(extra);
                return data[..at].Concat(extra).Concat(data[at..]).ToArray();
            }
            return data[..at].Concat(data[Math.Min(data.Length, at + n)..]).ToArray();
        }

        /// <summary>Replaces the operand of a random BININT/BININT1/BININT2 with an extreme value.</summary>
        private byte[] EditInteger(byte[] pkl)
        {
            var b = (byte[])pkl.Clone();
            for (int attempt = 0; attempt < 1000; attempt++)
            {
                int at = _rng.Next(b.Length - 5);
                switch (b[at])
                {
                    case (byte)'J':
                        int v = _rng.Next(5) switch { 0 => int.MaxValue, 1 => -1, 2 => 0, 3 => BitConverter.ToInt32(b, at + 1) * 2 + 1, _ => 1 << 30 };
                        BitConverter.GetBytes(v).CopyTo(b, at + 1);
                        return b;
                    case (byte)'K':
                        b[at + 1] = (byte)(_rng.Next(3) switch { 0 => 255, 1 => b[at + 1] + 1, _ => 0 });
                        return b;
                    case (byte)'M':
                        BitConverter.GetBytes((ushort)(_rng.Next(2) == 0 ? 65535 : BitConverter.ToUInt16(b, at + 2) + 1)).CopyTo(b, at + 1);
                        return b;
                }
            }
            return b;
        }

        /// <summary>Sets the operand of a random BININT1 to 0 (a stride, size or offset of 0).</summary>
        private byte[] ZeroSmallInt(byte[] pkl)
        {
            var b = (byte[])pkl.Clone();
            for (int attempt = 0; attempt < 1000; attempt++)
            {
                int at = _rng.Next(b.Length - 2);
                if (b[at] == (byte)'K' && b[at + 1] != 0) { b[at + 1] = 0; return b; }
            }
            return b;
        }

        private static byte[] InsertBeforeStop(byte[] pkl, byte[] insert)
        {
            int stop = pkl.Length - 1; // torch's data.pkl ends with STOP
            if (stop < 0 || pkl[stop] != (byte)'.') return pkl.Concat(insert).ToArray();
            var r = new byte[pkl.Length + insert.Length];
            Array.Copy(pkl, r, stop);
            Array.Copy(insert, 0, r, stop, insert.Length);
            r[^1] = (byte)'.';
            return r;
        }

        private static byte[] Str(string s)
        {
            var u = Encoding.UTF8.GetBytes(s);
            return new byte[] { (byte)'X' }.Concat(BitConverter.GetBytes(u.Length)).Concat(u).ToArray();
        }

        /// <summary>root['fuzz'] = [[[...]]] (n deep): more than 1,000 is refused, fewer imports unchanged.</summary>
        private byte[] DeepNesting()
        {
            int n = _rng.Next(2) == 0 ? 50 + _rng.Next(500) : 1001 + _rng.Next(100000);
            var body = new List<byte>(Str("fuzz"));
            body.AddRange(Enumerable.Repeat((byte)']', n));
            body.AddRange(Enumerable.Repeat((byte)'a', n - 1));
            body.Add((byte)'s'); // SETITEM on the root dict
            return body.ToArray();
        }

        /// <summary>None, n DUPs or MARKs, then as many POPs/POP_MARKs (harmless when within limits).</summary>
        private byte[] OpcodeFlood()
        {
            int n = _rng.Next(3) == 0 ? 1000 + _rng.Next(100000) : 1_000_001 + _rng.Next(3_000_000);
            bool marks = _rng.Next(2) == 0;
            var b = new byte[1 + 2 * n + 1];
            b[0] = (byte)'N';
            for (int i = 0; i < n; i++) { b[1 + i] = marks ? (byte)'(' : (byte)'2'; b[1 + n + i] = marks ? (byte)'1' : (byte)'0'; }
            b[^1] = (byte)'0';
            return b;
        }

        /// <summary>A real long string (popped) or a BINUNICODE that declares ~2 GB.</summary>
        private byte[] LongString()
        {
            if (_rng.Next(2) == 0)
            {
                int n = 1 << (10 + _rng.Next(13)); // up to 4 MiB
                var s = new byte[5 + n + 1];
                s[0] = (byte)'X';
                BitConverter.GetBytes(n).CopyTo(s, 1);
                Array.Fill(s, (byte)'a', 5, n);
                s[^1] = (byte)'0';
                return s;
            }
            return new byte[] { (byte)'X', 0xff, 0xff, 0xff, 0x7f, (byte)'a', (byte)'0' };
        }

        /// <summary>LONG4 of 9 bytes .. 1 MiB, or an INT line of many digits (popped).</summary>
        private byte[] LongInteger()
        {
            if (_rng.Next(2) == 0)
            {
                int n = _rng.Next(2) == 0 ? 9 + _rng.Next(50) : 1 << (7 + _rng.Next(14));
                var b = new byte[5 + n + 1];
                b[0] = 0x8b;
                BitConverter.GetBytes(n).CopyTo(b, 1);
                for (int i = 5; i < 5 + n; i++) b[i] = 0x7f;
                b[^1] = (byte)'0';
                return b;
            }
            int digits = _rng.Next(2) == 0 ? 30 + _rng.Next(100) : 1000 + _rng.Next(1_000_000);
            return Encoding.ASCII.GetBytes("I" + new string('9', digits) + "\n0");
        }

        /// <summary>A dict of 10 k .. 300 k int keys, popped (tests linear insertion).</summary>
        private byte[] HugeDict()
        {
            int n = 10_000 + _rng.Next(290_000);
            var b = new byte[2 + 6 * n + 2];
            b[0] = (byte)'}';
            b[1] = (byte)'(';
            for (int i = 0; i < n; i++)
            {
                b[2 + 6 * i] = (byte)'J';
                BitConverter.GetBytes(i).CopyTo(b, 3 + 6 * i);
                b[7 + 6 * i] = (byte)'N';
            }
            b[^2] = (byte)'u';
            b[^1] = (byte)'0';
            return b;
        }

        private static Dictionary<string, byte[]> ReadRecords(byte[] file)
        {
            var records = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            using var zip = new ZipArchive(new MemoryStream(file), ZipArchiveMode.Read);
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                var ms = new MemoryStream();
                s.CopyTo(ms);
                records[e.FullName] = ms.ToArray();
            }
            return records;
        }

        private static byte[] WriteRecords(Dictionary<string, byte[]> records)
        {
            var ms = new MemoryStream();
            using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var (name, data) in records)
                {
                    using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                    s.Write(data, 0, data.Length);
                }
            }
            return ms.ToArray();
        }

        // ------------------------------------------------------------------ text mutations

        private (byte[] Bytes, string Name, bool ReSigned) MutateText(byte[] file)
        {
            int kind = _rng.Next(100);
            if (kind < 30) return (FlipBits(file), "text-bitflip", true);
            if (kind < 45) return (Truncate(file), "text-truncate", true);
            if (kind < 60) return (InsertDelete(file), "text-insert-delete", true);
            string text = Encoding.Latin1.GetString(file);
            var lines = text.Split('\n').ToList();
            if (kind < 80)
            {
                // the atom count of a frame (first number on a header line) to an extreme
                string big = _rng.Next(4) switch { 0 => "2147483647", 1 => "1000000000", 2 => "-5", _ => "0" };
                for (int attempt = 0; attempt < 100; attempt++)
                {
                    int i = _rng.Next(Math.Min(lines.Count, 400));
                    var m = System.Text.RegularExpressions.Regex.Match(lines[i], @"^\s*(\d+)(\s|$|\s*atoms)");
                    if (m.Success && (i == 0 || lines[i].Contains("atoms") || (i > 0 && lines[i - 1].Trim().Length == 0) || lines[i].Trim() == m.Groups[1].Value))
                    {
                        lines[i] = lines[i][..m.Groups[1].Index] + big + lines[i][(m.Groups[1].Index + m.Groups[1].Length)..];
                        return (Encoding.Latin1.GetBytes(string.Join('\n', lines)), "text-atom-count", true);
                    }
                }
                lines[0] = big + " " + lines[0];
                return (Encoding.Latin1.GetBytes(string.Join('\n', lines)), "text-atom-count", true);
            }
            if (kind < 90)
            {
                int i = _rng.Next(lines.Count);
                lines.Insert(i, new string('7', 1 << (10 + _rng.Next(12))));
                return (Encoding.Latin1.GetBytes(string.Join('\n', lines)), "text-long-line", true);
            }
            int drop = _rng.Next(lines.Count);
            lines.RemoveRange(drop, Math.Min(1 + _rng.Next(20), lines.Count - drop));
            return (Encoding.Latin1.GetBytes(string.Join('\n', lines)), "text-delete-lines", true);
        }

        // ------------------------------------------------------------------ fingerprint

        /// <summary>SHA-256 over every number and size the model holds.</summary>
        public static string Fingerprint(DpModel m)
        {
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void D(double v) => h.AppendData(BitConverter.GetBytes(v));
            void A(double[]? a) { if (a is null) { D(-0.0); D(double.NaN); return; } D(a.Length); foreach (var v in a) D(v); }
            foreach (int z in m.AtomTypes) D(z);
            D(m.Rmin); D(m.Rmax); D(m.MaxNeighbors); D(m.M2); D((int)m.Precision);
            foreach (var layers in m.EmbeddingNets.Select(n => n.Layers).Concat(m.FittingNets.Select(n => n.Layers)))
                foreach (var l in layers) { D(l.Inputs); D(l.Outputs); D(l.AllowSkip ? 1 : 0); A(l.Weight); A(l.Bias); A(l.ResnetDt); }
            A(m.Davg); A(m.Dstd); A(m.EnergyShift); D(m.SijMax ?? double.NaN);
            if (m.Compression is { } c)
            {
                D(c.Order); D(c.Grid.SMin); D(c.Grid.SMax); D(c.Grid.Dx); D(c.Grid.InnerIntervals); D(c.Grid.OuterPoints); D(c.Grid.RawSijMax);
                A(c.Coefficients);
            }
            return Convert.ToHexString(h.GetHashAndReset());
        }
    }
}
