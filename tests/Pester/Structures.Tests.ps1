# Configuration readers (PWdata, MOVEMENT, extended XYZ), the .npy reader, the neighbour
# search (SPEC §2.3) and configuration transforms. Core types are tested directly.

BeforeDiscovery {
    $script:BruteForceCases = @(
        @{ System = 'Ag10Au14'; Images = 0..4 }
        @{ System = 'Ag45Au3'; Images = @(0) }
        @{ System = 'Ag8Au8'; Images = 0..2 }
        @{ System = 'Au32'; Images = 0..2 }
        @{ System = 'Ag12Au36'; Images = 0..1 }
    )
    $script:NpyVersions = @('f8_v1', 'f8_v2', 'f8_v3', 'f8_fortran', 'f8_big')
    $script:NpyBadFiles = @(
        @{ File = 'structured.npy'; Id = 'NpyUnsupportedDtype' }
        @{ File = 'unicode.npy'; Id = 'NpyUnsupportedDtype' }
        @{ File = 'truncated.npy'; Id = 'NpyCorrupt' }
        @{ File = 'notnpy.npy'; Id = 'NpyCorrupt' }
    )
    $script:FormatPairs = @(
        @{ Name = 'Ag10Au14 MOVEMENT'; File = 'Ag10Au14_valid.MOVEMENT'; Pw = 'Ag10Au14'; Count = 5; Cell = 1e-9; Pos = 1e-9; E = 1e-8; F = 1e-12; W = 1e-5 }
        @{ Name = 'Ag10Au14 XYZ'; File = 'Ag10Au14_valid.xyz'; Pw = 'Ag10Au14'; Count = 5; Cell = 1e-10; Pos = 1e-10; E = 1e-10; F = 1e-12; W = 1e-10 }
        @{ Name = 'Au32 MOVEMENT'; File = 'Au32_first10.MOVEMENT'; Pw = 'Au32'; Count = 10; Cell = 1e-9; Pos = 1e-9; E = 1e-8; F = 1e-12; W = 1e-4 }
        @{ Name = 'Au32 XYZ'; File = 'Au32_first10.xyz'; Pw = 'Au32'; Count = 10; Cell = 1e-10; Pos = 1e-10; E = 1e-10; F = 1e-12; W = 1e-10 }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:PwRoot = Get-TestDataPath 'agau/PWdata'
    $script:FormatsDir = Get-TestDataPath 'formats'
    $script:NpyDir = Get-TestDataPath 'npy'
    $script:AgAu = [int[]](47, 79)


    function Read-Pw([string] $System) {
        [DpCompress.Core.Structures.PwDataReader]::Read((Join-Path $script:PwRoot $System))
    }

    function Get-MaxAbsDiff($A, $B) {
        if ($null -eq $A -and $null -eq $B) { return 0.0 }
        $A.Length | Should -Be $B.Length
        $m = 0.0
        for ($i = 0; $i -lt $A.Length; $i++) { $m = [math]::Max($m, [math]::Abs($A[$i] - $B[$i])) }
        $m
    }

    # An independent O(N²·images) reference: every pair (i, j) and every image n in a generous
    # box (ceil(Rmax / plane distance) + Extra per axis), counted per (i, neighbour type), with
    # the sorted squared distances of each block.
    if (-not ('StructuresTests.BruteForce' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
namespace StructuresTests {
public static class BruteForce {
    public static string Compare(double[] h, double[] r, int[] z, int[] modelZ, double rmax, int extra,
                                 int[] counts, int[] neighbor, double[] delta, int k) {
        int n = z.Length, T = modelZ.Length;
        double[] bc = Cross(h, 3, 6), ca = Cross(h, 6, 0), ab = Cross(h, 0, 3);
        double v = Math.Abs(h[0]*bc[0] + h[1]*bc[1] + h[2]*bc[2]);
        int m0 = (int)Math.Ceiling(rmax * Norm(bc) / v) + extra, m1 = (int)Math.Ceiling(rmax * Norm(ca) / v) + extra,
            m2 = (int)Math.Ceiling(rmax * Norm(ab) / v) + extra;
        var d2 = new List<double>[n * T];
        for (int q = 0; q < d2.Length; q++) d2[q] = new List<double>();
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
            int t = Array.IndexOf(modelZ, z[j]);
            for (int a = -m0; a <= m0; a++) for (int b = -m1; b <= m1; b++) for (int c = -m2; c <= m2; c++) {
                double dx = r[3*j] - r[3*i] + a*h[0] + b*h[3] + c*h[6];
                double dy = r[3*j+1] - r[3*i+1] + a*h[1] + b*h[4] + c*h[7];
                double dz = r[3*j+2] - r[3*i+2] + a*h[2] + b*h[5] + c*h[8];
                double s = dx*dx + dy*dy + dz*dz;
                if (s > 1e-8 && s < rmax*rmax) d2[i*T + t].Add(s);
            }
        }
        for (int q = 0; q < n * T; q++) {
            if (counts[q] != d2[q].Count) return "block " + q + ": " + counts[q] + " neighbours, brute force " + d2[q].Count;
            var mine = new List<double>();
            int prev = -1;
            for (int s = 0; s < k; s++) {
                int slot = q * k + s;
                if (s < counts[q]) {
                    if (neighbor[slot] < prev) return "block " + q + " is not ordered by j";
                    prev = neighbor[slot];
                    mine.Add(delta[3*slot]*delta[3*slot] + delta[3*slot+1]*delta[3*slot+1] + delta[3*slot+2]*delta[3*slot+2]);
                } else if (neighbor[slot] != -1 || delta[3*slot] != 0 || delta[3*slot+1] != 0 || delta[3*slot+2] != 0) {
                    return "padding slot " + slot + " is not empty";
                }
            }
            mine.Sort(); d2[q].Sort();
            for (int s = 0; s < mine.Count; s++)
                if (Math.Abs(mine[s] - d2[q][s]) > 1e-9) return "block " + q + ": distance " + s + " differs";
        }
        return "";
    }
    static double[] Cross(double[] h, int u, int w) {
        return new[] { h[u+1]*h[w+2] - h[u+2]*h[w+1], h[u+2]*h[w] - h[u]*h[w+2], h[u]*h[w+1] - h[u+1]*h[w] };
    }
    static double Norm(double[] x) { return Math.Sqrt(x[0]*x[0] + x[1]*x[1] + x[2]*x[2]); }

    // The exact list of SPEC §2.3, written out directly: for each centre i, each j in index order and
    // each image m in lexicographic order over a box that surely holds every |Δf_a| < Rmax / d_a,
    // dR by the same floating-point expression as NeighborSearch. Compares every array bitwise.
    // Errors: atoms in index order; within an atom an overlap before too many neighbours.
    public static string CompareExact(double[] h, double[] r, int[] z, int[] modelZ, double rmax, int k,
                                      int[] counts, int[] neighbor, double[] delta, string errorId, int errorAtom) {
        int n = z.Length, T = modelZ.Length;
        if (string.IsNullOrEmpty(errorId)) errorId = null;
        double[] bc = Cross(h, 3, 6), ca = Cross(h, 6, 0), ab = Cross(h, 0, 3);
        double v = h[0]*bc[0] + h[1]*bc[1] + h[2]*bc[2];
        double[][] inv = { bc, ca, ab };   // f_a = r · inv[a] / v
        var f = new double[3 * n];
        for (int i = 0; i < n; i++) for (int a = 0; a < 3; a++)
            f[3*i + a] = (r[3*i]*inv[a][0] + r[3*i+1]*inv[a][1] + r[3*i+2]*inv[a][2]) / v;
        var reach = new double[3];
        for (int a = 0; a < 3; a++) reach[a] = rmax * Norm(inv[a]) / Math.Abs(v);
        int slots = n * T * k;
        var expN = new int[slots]; var expD = new double[3 * slots]; var expC = new int[n * T];
        for (int s = 0; s < slots; s++) expN[s] = -1;
        double r2max = rmax * rmax;
        for (int i = 0; i < n; i++) {
            bool overlap = false;
            for (int j = 0; j < n; j++) {
                int t = Array.IndexOf(modelZ, z[j]);
                var lo = new int[3]; var hi = new int[3];
                for (int a = 0; a < 3; a++) {
                    double c0 = f[3*i + a] - f[3*j + a];
                    lo[a] = (int)Math.Floor(c0 - reach[a]) - 1; hi[a] = (int)Math.Ceiling(c0 + reach[a]) + 1;
                }
                for (int m0 = lo[0]; m0 <= hi[0]; m0++) for (int m1 = lo[1]; m1 <= hi[1]; m1++) for (int m2 = lo[2]; m2 <= hi[2]; m2++) {
                    if (j == i && m0 == 0 && m1 == 0 && m2 == 0) continue;
                    double dx = r[3 * j] - r[3 * i] + m0 * h[0] + m1 * h[3] + m2 * h[6];
                    double dy = r[3 * j + 1] - r[3 * i + 1] + m0 * h[1] + m1 * h[4] + m2 * h[7];
                    double dz = r[3 * j + 2] - r[3 * i + 2] + m0 * h[2] + m1 * h[5] + m2 * h[8];
                    double r2 = dx * dx + dy * dy + dz * dz;
                    if (!(r2 < r2max)) continue;
                    if (r2 <= 1e-8) overlap = true;
                    int c = expC[i * T + t]++;
                    if (c >= k) continue;
                    int s = (i * T + t) * k + c;
                    expN[s] = j; expD[3*s] = dx; expD[3*s+1] = dy; expD[3*s+2] = dz;
                }
            }
            string want = null;
            if (overlap) want = "OverlappingAtoms";
            else for (int t = 0; t < T; t++) if (expC[i * T + t] > k) { want = "TooManyNeighbors"; break; }
            if (want != null)
                return want == errorId && errorAtom == i ? "" : "expected " + want + " at atom " + i + ", got " + (errorId ?? "a list") + " at atom " + errorAtom;
        }
        if (errorId != null) return "expected a list, got " + errorId + " at atom " + errorAtom;
        for (int q = 0; q < n * T; q++) if (counts[q] != expC[q]) return "block " + q + ": " + counts[q] + " neighbours, expected " + expC[q];
        for (int s = 0; s < slots; s++) {
            if (neighbor[s] != expN[s]) return "slot " + s + ": neighbour " + neighbor[s] + ", expected " + expN[s];
            for (int a = 0; a < 3; a++)
                if (BitConverter.DoubleToInt64Bits(delta[3*s + a]) != BitConverter.DoubleToInt64Bits(expD[3*s + a]))
                    return "slot " + s + ": dR[" + a + "] = " + delta[3*s + a].ToString("R") + ", expected " + expD[3*s + a].ToString("R");
        }
        return "";
    }
}
}
'@
    }

    function Test-AgainstBruteForce($Config, [int[]] $ModelZ, [double] $Rmax = 6.0, [int] $K = 300, [int] $Extra = 2) {
        $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($Config, $ModelZ, $Rmax, $K)
        [StructuresTests.BruteForce]::Compare($Config.Cell, $Config.Positions, $Config.AtomicNumbers, $ModelZ, $Rmax, $Extra,
            $nl.Counts, $nl.Neighbor, $nl.Delta, $K)
    }

    # Bitwise agreement with the exact brute force, errors included (ErrorId and atom).
    function Test-Exact($Config, [int[]] $ModelZ, [double] $Rmax, [int] $K) {
        $nl = $null; $id = $null; $atom = -1
        try { $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($Config, $ModelZ, $Rmax, $K) }
        catch {
            $e = $_.Exception
            while ($e -and $e -isnot [DpCompress.Core.DpCompressException]) { $e = $e.InnerException }
            if (-not $e) { throw }
            $id = $e.ErrorId
            if ($e.Message -match ': atom (\d+) ') { $atom = [int]$Matches[1] }
        }
        if ($nl) {
            [StructuresTests.BruteForce]::CompareExact($Config.Cell, $Config.Positions, $Config.AtomicNumbers, $ModelZ, $Rmax, $K,
                $nl.Counts, $nl.Neighbor, $nl.Delta, $null, -1)
        } else {
            [StructuresTests.BruteForce]::CompareExact($Config.Cell, $Config.Positions, $Config.AtomicNumbers, $ModelZ, $Rmax, $K,
                $null, $null, $null, $id, $atom)
        }
    }

    # S(r) of SPEC §2.1.
    function Get-SmoothWeight([double] $R, [double] $Rmin = 2.0, [double] $Rmax = 6.0) {
        if ($R -le 0) { return 0.0 }
        if ($R -lt $Rmin) { return 1.0 / $R }
        if ($R -lt $Rmax) { $u = ($R - $Rmin) / ($Rmax - $Rmin); return ($u * $u * $u * (-6 * $u * $u + 15 * $u - 10) + 1) / $R }
        0.0
    }

    function New-Conf([double[]] $Cell, [double[]] $Positions, [int[]] $Z) {
        [DpCompress.Core.Structures.Configuration]::new($Cell, $Positions, $Z)
    }
}

Describe 'NpyReader' {
    Context 'format versions, byte order and memory order' {
        It 'reads <_> as the C-order array arange(24)·1.5 − 7.25 of shape (2, 3, 4)' -ForEach $NpyVersions {
            $a = [DpCompress.Core.Structures.NpyReader]::Read((Join-Path $NpyDir "$_.npy"))
            $a.Shape | Should -Be @(2, 3, 4)
            for ($i = 0; $i -lt 24; $i++) { $a.Data[$i] | Should -Be ($i * 1.5 - 7.25) }
        }
        It 'reports Fortran order but returns C order' {
            $a = [DpCompress.Core.Structures.NpyReader]::Read((Join-Path $NpyDir 'f8_fortran.npy'))
            $a.FortranOrder | Should -BeTrue
            $a.Data[1] | Should -Be (-5.75)
        }
    }
    Context 'dtypes' {
        It 'reads float32 exactly' {
            $a = [DpCompress.Core.Structures.NpyReader]::Read((Join-Path $NpyDir 'f4.npy'))
            $a.ElementType | Should -Be 'Float32'
            $a.Data[3] | Should -Be (3 * 1.5 - 7.25)
        }
        It 'reads int64, int32 and uint8' {
            ([DpCompress.Core.Structures.NpyReader]::Read((Join-Path $NpyDir 'i8.npy'))).Data[0] | Should -Be -7
            ([DpCompress.Core.Structures.NpyReader]::Read((Join-Path $NpyDir 'i4.npy'))).ToInt32() | Should -Be @(47, 79, 79)
            ([DpCompress.Core.Structures.NpyReader]::Read((Join-Path $NpyDir 'u1.npy'))).Data | Should -Be @(1, 2, 255)
        }
        It 'reads a 0-d array' {
            $a = [DpCompress.Core.Structures.NpyReader]::Read((Join-Path $NpyDir 'scalar.npy'))
            $a.Rank | Should -Be 0
            $a.Data | Should -Be @(3.5)
        }
    }
    Context 'errors' {
        It '<File> fails with <Id> naming the file' -ForEach $NpyBadFiles {
            $path = Join-Path $NpyDir $File
            $e = Get-DpError { [DpCompress.Core.Structures.NpyReader]::Read($path) }
            $e.ErrorId | Should -Be $Id
            $e.Kind | Should -Be 'InvalidData'
            $e.Path | Should -Be $path
            $e.Message | Should -BeLike "*$File*"
        }
    }
}

Describe 'PwDataReader' {
    Context 'folder layouts' {
        It 'walks a folder of systems in sorted order: 160 images of 19 systems' {
            $all = [DpCompress.Core.Structures.PwDataReader]::Read($PwRoot)
            $all.Count | Should -Be 160
            ($all | Select-Object -ExpandProperty Name -Unique).Count | Should -Be 19
            $all[0].Name | Should -Be 'Ag10Au14'
            $all[0..4].Index | Should -Be @(0, 1, 2, 3, 4)
            $all[-1].Name | Should -Be 'Au32'
            $all[-1].Index | Should -Be 63
        }
        It 'reads a system folder (train/valid below it) and the data folder itself alike' {
            $a = Read-Pw 'Ag10Au14'
            $b = [DpCompress.Core.Structures.PwDataReader]::Read((Join-Path $PwRoot 'Ag10Au14/valid'))
            $a.Count | Should -Be 5
            $b.Count | Should -Be 5
            $a[3].Positions | Should -Be $b[3].Positions
            $a[0].Name | Should -Be 'Ag10Au14'
            $a[0].Source | Should -Be (Join-Path $PwRoot 'Ag10Au14/valid')
            $a[0].Formula | Should -Be 'Ag10Au14'
        }
        It 'is what ConfigurationReader.Read returns for a folder' {
            [DpCompress.Core.Structures.ConfigurationReader]::DetectFormat($PwRoot) | Should -Be 'PwData'
            ([DpCompress.Core.Structures.ConfigurationReader]::Read($PwRoot)).Count | Should -Be 160
        }
    }
    Context 'coordinates and labels' {
        BeforeAll {
            $script:dir = Join-Path $PwRoot 'Ag10Au14/valid'
            function script:Npy([string] $n) { [DpCompress.Core.Structures.NpyReader]::Read((Join-Path $script:dir "$n.npy")) }
            $script:c = (Read-Pw 'Ag10Au14')[2]
        }
        It 'converts fractional positions with the lattice rows: r = f·L' {
            $f = (Npy 'position').Data; $l = (Npy 'lattice').Data
            $o = 2 * 72
            foreach ($atom in 0, 7, 23) {
                for ($k = 0; $k -lt 3; $k++) {
                    $expected = $f[$o + 3 * $atom] * $l[18 + $k] + $f[$o + 3 * $atom + 1] * $l[18 + 3 + $k] + $f[$o + 3 * $atom + 2] * $l[18 + 6 + $k]
                    [math]::Abs($c.Positions[3 * $atom + $k] - $expected) | Should -BeLessThan 1e-13
                }
            }
            $c.Cell | Should -Be $l[18..26]
            $c.AtomicNumbers | Should -Be (Npy 'image_type').ToInt32()
        }
        It 'carries energy, forces, virial and atomic energies of the image' {
            $c.Energy | Should -Be (Npy 'energies').Data[2]
            $c.Forces | Should -Be (Npy 'forces').Data[144..215]
            $c.Virial | Should -Be (Npy 'virials').Data[18..26]
            $c.AtomicEnergies | Should -Be (Npy 'ei').Data[48..71]
        }
        It 'maps a virial row of −1e5 to null and a missing ei.npy to null' {
            $p = [DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'structs/PWdata_partial'))
            $p.Count | Should -Be 2
            $p[0].Virial | Should -Not -BeNullOrEmpty
            $p[1].Virial | Should -BeNullOrEmpty
            $p[1].Energy | Should -Not -BeNullOrEmpty
            $p[1].AtomicEnergies | Should -BeNullOrEmpty
        }
        It 'gives null labels when no label file exists' {
            $p = [DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'structs/PWdata_nolabels'))
            $p.Count | Should -Be 1
            $p[0].Name | Should -Be 'Ag10Au14'
            $p[0].Energy | Should -BeNullOrEmpty
            $p[0].Forces | Should -BeNullOrEmpty
            $p[0].Virial | Should -BeNullOrEmpty
        }
    }
    Context 'errors' {
        It 'a missing folder is ConfigurationNotFound' {
            $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read((Join-Path $TestDrive 'nothing-here')) }
            $e.ErrorId | Should -Be 'ConfigurationNotFound'
            $e.Kind | Should -Be 'ObjectNotFound'
        }
        It 'a folder without PWdata is ConfigurationFormatUnknown' {
            $d = New-Item -ItemType Directory (Join-Path $TestDrive 'empty')
            (Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($d.FullName) }).ErrorId | Should -Be 'ConfigurationFormatUnknown'
        }
        It 'a PWdata folder without lattice.npy is ConfigurationCorrupt' {
            $d = New-Item -ItemType Directory (Join-Path $TestDrive 'nolattice/valid')
            Copy-Item (Join-Path $PwRoot 'Ag10Au14/valid/position.npy'), (Join-Path $PwRoot 'Ag10Au14/valid/image_type.npy') $d
            $e = Get-DpError { [DpCompress.Core.Structures.PwDataReader]::Read($d.FullName) }
            $e.ErrorId | Should -Be 'ConfigurationCorrupt'
            $e.Message | Should -BeLike '*lattice.npy*'
        }
        It 'inconsistent shapes are ConfigurationCorrupt naming the file' {
            $d = New-Item -ItemType Directory (Join-Path $TestDrive 'mixed/valid')
            Copy-Item (Join-Path $PwRoot 'Ag10Au14/valid/*.npy') $d
            Copy-Item (Join-Path $PwRoot 'Ag12Au36/valid/forces.npy') $d -Force
            $e = Get-DpError { [DpCompress.Core.Structures.PwDataReader]::Read($d.FullName) }
            $e.ErrorId | Should -Be 'ConfigurationCorrupt'
            $e.Message | Should -BeLike '*forces.npy*'
        }
        It 'a corrupt .npy is ConfigurationCorrupt keeping the NpyCorrupt error inside' {
            $d = New-Item -ItemType Directory (Join-Path $TestDrive 'badnpy/valid')
            Copy-Item (Join-Path $PwRoot 'Ag10Au14/valid/*.npy') $d
            Copy-Item (Join-Path $NpyDir 'truncated.npy') (Join-Path $d 'lattice.npy') -Force
            $e = Get-DpError { [DpCompress.Core.Structures.PwDataReader]::Read($d.FullName) }
            $e.ErrorId | Should -Be 'ConfigurationCorrupt'
            $e.InnerException.ErrorId | Should -Be 'NpyCorrupt'
        }
    }
}

Describe 'MOVEMENT and extended XYZ' {
    Context 'the same configurations in three formats' {
        It '<Name> equals PWdata to the printed digits' -ForEach $FormatPairs {
            $x = [DpCompress.Core.Structures.ConfigurationReader]::Read((Join-Path $FormatsDir $File))
            $p = Read-Pw $Pw
            $x.Count | Should -Be $Count
            for ($k = 0; $k -lt $Count; $k++) {
                $x[$k].AtomicNumbers | Should -Be $p[$k].AtomicNumbers
                Get-MaxAbsDiff $x[$k].Cell $p[$k].Cell | Should -BeLessThan $Cell
                Get-MaxAbsDiff $x[$k].Positions $p[$k].Positions | Should -BeLessThan $Pos
                [math]::Abs($x[$k].Energy - $p[$k].Energy) | Should -BeLessThan $E
                Get-MaxAbsDiff $x[$k].Forces $p[$k].Forces | Should -BeLessThan $F
                Get-MaxAbsDiff $x[$k].Virial $p[$k].Virial | Should -BeLessThan $W
                $x[$k].Index | Should -Be $k
            }
        }
        It 'gives the same neighbour lists from all three formats' {
            $p = Read-Pw 'Ag10Au14'
            $m = [DpCompress.Core.Structures.MovementReader]::Read((Join-Path $FormatsDir 'Ag10Au14_valid.MOVEMENT'))
            $x = [DpCompress.Core.Structures.ExtXyzReader]::Read((Join-Path $FormatsDir 'Ag10Au14_valid.xyz'))
            for ($k = 0; $k -lt 5; $k++) {
                $a = [DpCompress.Core.Neighbors.NeighborSearch]::Build($p[$k], $AgAu, 6.0, 100)
                foreach ($other in $m[$k], $x[$k]) {
                    $b = [DpCompress.Core.Neighbors.NeighborSearch]::Build($other, $AgAu, 6.0, 100)
                    $b.Counts | Should -Be $a.Counts
                    $b.Neighbor | Should -Be $a.Neighbor
                    Get-MaxAbsDiff $b.Delta $a.Delta | Should -BeLessThan 1e-9
                }
            }
        }
    }
    Context 'PWmat MOVEMENT' {
        BeforeAll { $script:ch4 = [DpCompress.Core.Structures.ConfigurationReader]::Read((Join-Path $FormatsDir 'pwmat_CH4_MOVEMENT')) }
        It 'reads all 10 frames of a real PWmat run' {
            $ch4.Count | Should -Be 10
            $ch4[0].AtomicNumbers | Should -Be @(6, 1, 1, 1, 1)
            $ch4[0].Cell | Should -Be @(10, 0, 0, 0, 10, 0, 0, 0, 10)
        }
        It 'takes Ep as the energy and the stress columns as the virial' {
            $ch4[0].Energy | Should -Be -219.8172551
            $ch4[0].Virial | Should -Be @(0.223614, 0.913404, -0.941723, 0.913404, 0.466893, 0.41776, -0.941723, 0.41776, 0.350859)
        }
        It 'negates the stored −force and scales fractional positions' {
            $ch4[0].Forces[0..2] | Should -Be @(0.300994301726863, -0.975385981252998, 0.647147119917742)
            [math]::Abs($ch4[0].Positions[0] - 4.53522153693573) | Should -BeLessThan 1e-12
        }
        It 'reads the Atomic-Energy block' {
            $ch4[0].AtomicEnergies | Should -Be @(231.7896833, 31.96044441, 31.79767189, 32.28805395, 31.91813098)
        }
        It 'detects a MOVEMENT by content when the name does not say so' {
            $f = Join-Path $TestDrive 'run.out'
            Copy-Item (Join-Path $FormatsDir 'pwmat_CH4_MOVEMENT') $f
            [DpCompress.Core.Structures.ConfigurationReader]::DetectFormat($f) | Should -Be 'Movement'
            ([DpCompress.Core.Structures.ConfigurationReader]::Read($f)).Count | Should -Be 10
        }
        It 'a truncated frame is ConfigurationCorrupt with the line number' {
            $f = Join-Path $TestDrive 'cut.MOVEMENT'
            Get-Content (Join-Path $FormatsDir 'Ag10Au14_valid.MOVEMENT') -TotalCount 20 | Set-Content $f
            $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }
            $e.ErrorId | Should -Be 'ConfigurationCorrupt'
            $e.Message | Should -BeLike '*line 21*'
        }
        It 'a bad number is ConfigurationCorrupt with its line' {
            $f = Join-Path $TestDrive 'bad.MOVEMENT'
            $lines = Get-Content (Join-Path $FormatsDir 'Ag10Au14_valid.MOVEMENT')
            $lines[7] = $lines[7] -replace '0\.5', 'x.5'
            $lines | Set-Content $f
            $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }
            $e.ErrorId | Should -Be 'ConfigurationCorrupt'
            $e.Message | Should -BeLike '*line 8*'
        }
    }
    Context 'extended XYZ' {
        It 'reads gap_carbon.xyz (25 frames of 125 C atoms with energy, forces and virial)' {
            $g = [DpCompress.Core.Structures.ConfigurationReader]::Read((Join-Path $FormatsDir 'gap_carbon.xyz'))
            $g.Count | Should -Be 25
            $g[0].AtomCount | Should -Be 125
            $g[0].Formula | Should -Be 'C125'
            $g[0].Energy | Should -Be -767.80938844
            $g[0].Virial[4] | Should -Be 246.84791177000002
            $g[0].Forces[0..2] | Should -Be @(4.4023939, 1.50400999, 0.64697591)
            $g[0].Cell[0] | Should -Be 9.158616
        }
        It 'honours column order, extra columns, quoting and case-insensitive keys' {
            $f = Join-Path $TestDrive 'odd.extxyz'
            @(
                '2'
                'PBC="T T T" ENERGY=-1.5 lattice="4 0 0 0 5 0 0 0 6" Properties=id:I:1:force:R:3:tags:S:2:pos:R:3:species:S:1 comment="a b=c"'
                '0 0.1 0.2 0.3 x y 1.0 2.0 3.0 Ag'
                '1 -0.1 -0.2 -0.3 x y 2.0 2.5 3.5 au'
            ) | Set-Content $f
            $c = ([DpCompress.Core.Structures.ConfigurationReader]::Read($f))[0]
            $c.AtomicNumbers | Should -Be @(47, 79)
            $c.Positions | Should -Be @(1.0, 2.0, 3.0, 2.0, 2.5, 3.5)
            $c.Forces | Should -Be @(0.1, 0.2, 0.3, -0.1, -0.2, -0.3)
            $c.Energy | Should -Be -1.5
            $c.Cell | Should -Be @(4, 0, 0, 0, 5, 0, 0, 0, 6)
            $c.Virial | Should -BeNullOrEmpty
        }
        It 'a frame without Lattice is ConfigurationCorrupt' {
            $f = Join-Path $TestDrive 'nolattice.xyz'
            @('1', 'energy=1', 'Ag 0 0 0') | Set-Content $f
            $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }
            $e.ErrorId | Should -Be 'ConfigurationCorrupt'
            $e.Message | Should -BeLike '*Lattice*'
        }
        It 'pbc with F is ConfigurationNotPeriodic' {
            $f = Join-Path $TestDrive 'slab.xyz'
            @('1', 'Lattice="4 0 0 0 4 0 0 0 4" pbc="T T F"', 'Ag 0 0 0') | Set-Content $f
            (Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }).ErrorId | Should -Be 'ConfigurationNotPeriodic'
        }
        It 'pbc with two flags or none is ConfigurationCorrupt; one flag or three read' {
            foreach ($flags in 'T T', '', 'T T T T') {
                $f = Join-Path $TestDrive 'pbc2.xyz'
                @('1', "Lattice=`"4 0 0 0 4 0 0 0 4`" pbc=`"$flags`"", 'Ag 0 0 0') | Set-Content $f
                $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }
                $e.ErrorId | Should -Be 'ConfigurationCorrupt'
                $e.Message | Should -BeLike '*pbc*flags*'
            }
            foreach ($flags in 'T', 'T T T') {
                $f = Join-Path $TestDrive 'pbc1.xyz'
                @('1', "Lattice=`"4 0 0 0 4 0 0 0 4`" pbc=`"$flags`"", 'Ag 0 0 0') | Set-Content $f
                @([DpCompress.Core.Structures.ConfigurationReader]::Read($f)).Count | Should -Be 1
            }
        }
        It 'an unknown species or a short atom line is ConfigurationCorrupt with its line' {
            $f = Join-Path $TestDrive 'badspecies.xyz'
            @('2', 'Lattice="4 0 0 0 4 0 0 0 4"', 'Ag 0 0 0', 'Qq 1 1 1') | Set-Content $f
            $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }
            $e.ErrorId | Should -Be 'ConfigurationCorrupt'
            $e.Message | Should -BeLike '*line 4*'
            @('2', 'Lattice="4 0 0 0 4 0 0 0 4"', 'Ag 0 0 0', 'Au 1 1') | Set-Content $f
            (Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }).ErrorId | Should -Be 'ConfigurationCorrupt'
        }
    }
    Context 'format detection' {
        It 'a missing file is ConfigurationNotFound' {
            (Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read((Join-Path $TestDrive 'none.xyz')) }).ErrorId | Should -Be 'ConfigurationNotFound'
        }
        It 'an unrecognisable file is ConfigurationFormatUnknown' {
            $f = Join-Path $TestDrive 'notes.txt'
            'hello, this is not a structure' | Set-Content $f
            $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read($f) }
            $e.ErrorId | Should -Be 'ConfigurationFormatUnknown'
            $e.Kind | Should -Be 'InvalidData'
        }
        It 'an XYZ file without extension is detected from its content' {
            $f = Join-Path $TestDrive 'frames'
            Copy-Item (Join-Path $FormatsDir 'Ag10Au14_valid.xyz') $f
            [DpCompress.Core.Structures.ConfigurationReader]::DetectFormat($f) | Should -Be 'ExtendedXyz'
        }
    }
}

Describe 'NeighborSearch' {
    Context 'agreement with an O(N²·images) brute force' {
        It '<System> images <Images>' -ForEach $BruteForceCases {
            $confs = Read-Pw $System
            foreach ($i in $Images) { Test-AgainstBruteForce $confs[$i] $AgAu | Should -BeNullOrEmpty }
        }
        It 'all 160 Ag–Au images' {
            $bad = foreach ($c in [DpCompress.Core.Structures.PwDataReader]::Read($PwRoot)) {
                $r = Test-AgainstBruteForce $c $AgAu -K 120 -Extra 1
                if ($r) { "$c : $r" }
            }
            $bad | Should -BeNullOrEmpty
        }
        It 'a strongly skewed cell with atoms far outside it' {
            # b and c nearly parallel to ±a: lattice lengths ≈ 5 Å but plane distances ≈ 1.1 and 0.8 Å.
            $cell = [double[]](5, 0, 0, 4.7, 1.1, 0, -4.6, 0.6, 0.9)
            $rnd = [Random]::new(11)
            $pos = [double[]]::new(12); $z = [int[]](47, 79, 47, 79)
            for ($i = 0; $i -lt 4; $i++) {
                $f = 1..3 | ForEach-Object { $rnd.NextDouble() * 5 - 2 }
                for ($k = 0; $k -lt 3; $k++) { $pos[3 * $i + $k] = $f[0] * $cell[$k] + $f[1] * $cell[3 + $k] + $f[2] * $cell[6 + $k] }
            }
            $c = New-Conf $cell $pos $z
            Test-AgainstBruteForce $c $AgAu -K 3000 -Extra 8 | Should -BeNullOrEmpty
        }
        It 'a short cell (one 1.5 Å vector): the centre''s own images are neighbours' {
            $c = New-Conf ([double[]](1.5, 0, 0, 0, 7, 0, 0.4, 0.3, 7.5)) ([double[]](0, 0, 0, 0.75, 3.5, 3.7)) ([int[]](79, 79))
            Test-AgainstBruteForce $c $AgAu -K 200 | Should -BeNullOrEmpty
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $AgAu, 6.0, 200)
            $nl.Neighbor[$nl.Slot(0, 1, 0)] | Should -Be 0
        }
        It 'the 500-atom five-element cell' {
            $c = ([DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'alloy5/PWdata/fcc_5x5x5_500')))[0]
            Test-AgainstBruteForce $c ([int[]](22, 23, 24, 40, 41)) -K 100 -Extra 1 | Should -BeNullOrEmpty
        }
    }
    Context 'bitwise agreement with an exact brute force (order, dR bits, padding, errors)' {
        BeforeAll {
            # Positions moved by random whole lattice vectors (−3..3) and up to ±0.1 Å: unwrapped,
            # negative fractional coordinates.
            function script:New-Unwrapped($C, [int] $Seed) {
                $rnd = [Random]::new($Seed); $h = $C.Cell
                $p = [double[]]$C.Positions.Clone()
                for ($a = 0; $a -lt $C.AtomCount; $a++) {
                    $s = @($rnd.Next(-3, 4), $rnd.Next(-3, 4), $rnd.Next(-3, 4))
                    for ($q = 0; $q -lt 3; $q++) {
                        $p[3 * $a + $q] += ($rnd.NextDouble() - 0.5) * 0.2 + $s[0] * $h[$q] + $s[1] * $h[3 + $q] + $s[2] * $h[6 + $q]
                    }
                }
                New-Conf $h $p $C.AtomicNumbers
            }
        }
        It 'Ag10Au14 images 0–4, as given and unwrapped' {
            foreach ($c in (Read-Pw 'Ag10Au14')[0..4]) {
                Test-Exact $c $AgAu 6.0 100 | Should -BeNullOrEmpty
                Test-Exact (New-Unwrapped $c 3) $AgAu 6.0 100 | Should -BeNullOrEmpty
            }
        }
        It 'a 2×2×2 supercell of Ag8Au8 and an unwrapped Ag12Au36' {
            $s = [DpCompress.Core.Structures.ConfigurationTransforms]::Supercell((Read-Pw 'Ag8Au8')[0], 2, 2, 2)
            Test-Exact $s $AgAu 6.0 100 | Should -BeNullOrEmpty
            Test-Exact (New-Unwrapped (Read-Pw 'Ag12Au36')[0] 5) $AgAu 6.0 100 | Should -BeNullOrEmpty
        }
        It 'a five-element bcc cell of 108 atoms, also with a 4 Å and a 9 Å cutoff' {
            $c = ([DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'alloy5/PWdata/bcc_3x3x6_108')))[0]
            $z = [int[]](22, 23, 24, 40, 41)
            Test-Exact $c $z 6.0 100 | Should -BeNullOrEmpty
            Test-Exact (New-Unwrapped $c 7) $z 4.0 40 | Should -BeNullOrEmpty
            Test-Exact $c $z 9.0 300 | Should -BeNullOrEmpty
        }
        It 'a strongly skewed small cell with atoms far outside it' {
            $cell = [double[]](5, 0, 0, 4.7, 1.1, 0, -4.6, 0.6, 0.9)
            $rnd = [Random]::new(11)
            $pos = [double[]]::new(15); $z = [int[]](47, 79, 47, 79, 79)
            for ($i = 0; $i -lt 5; $i++) {
                $f = 1..3 | ForEach-Object { $rnd.NextDouble() * 5 - 2 }
                for ($k = 0; $k -lt 3; $k++) { $pos[3 * $i + $k] = $f[0] * $cell[$k] + $f[1] * $cell[3 + $k] + $f[2] * $cell[6 + $k] }
            }
            Test-Exact (New-Conf $cell $pos $z) $AgAu 6.0 4000 | Should -BeNullOrEmpty
        }
        It 'one atom in a cell smaller than Rmax sees only its own images (<Name>)' -ForEach @(
            @{ Name = 'cubic 2.9 Å'; Cell = (2.9, 0, 0, 0, 2.9, 0, 0, 0, 2.9); Pos = (0.3, -0.2, 7.1) }
            @{ Name = 'triclinic'; Cell = (2.5, 0, 0, 1.2, 2.2, 0, 0.7, 0.4, 2.4); Pos = (-10.3, 0.2, 0.1) }
            @{ Name = 'left-handed'; Cell = (0, 3.1, 0, 3.3, 0, 0, 0.2, 0, 3.6); Pos = (1, 2, 3) }
        ) {
            Test-Exact (New-Conf ([double[]]$Cell) ([double[]]$Pos) ([int[]](79))) $AgAu 6.0 1000 | Should -BeNullOrEmpty
        }
        It 'a short cell (one 1.5 Å vector)' {
            $c = New-Conf ([double[]](1.5, 0, 0, 0, 7, 0, 0.4, 0.3, 7.5)) ([double[]](0, 0, 0, 0.75, 3.5, 3.7)) ([int[]](79, 79))
            Test-Exact $c $AgAu 6.0 200 | Should -BeNullOrEmpty
        }
        It 'errors come from the first bad atom: <Name>' -ForEach @(
            @{ Name = 'too many neighbours at atom 0 before an overlap of atoms 1 and 2'; K = 20 }
            @{ Name = 'the overlap of atoms 1 and 2 when no atom has too many'; K = 500 }
        ) {
            $o = New-Conf ([double[]](5, 0, 0, 0, 5, 0, 0, 0, 5)) ([double[]](3, 3, 3, 1, 1, 1, 6, 1, 1.00001)) ([int[]](79, 47, 79))
            Test-Exact $o $AgAu 6.0 $K | Should -BeNullOrEmpty
        }
        It 'building into the arrays of an earlier list (reuse) gives the same list' {
            $confs = Read-Pw 'Ag10Au14'
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($confs[0], $AgAu, 6.0, 100)
            $delta = $nl.Delta
            foreach ($c in $confs[1..3]) {
                $fresh = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $AgAu, 6.0, 100)
                $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $AgAu, 6.0, 100, $nl)
                [object]::ReferenceEquals($nl.Delta, $delta) | Should -BeTrue
                $nl.Counts | Should -Be $fresh.Counts
                $nl.Neighbor | Should -Be $fresh.Neighbor
                [StructuresTests.BruteForce]::CompareExact($c.Cell, $c.Positions, $c.AtomicNumbers, $AgAu, 6.0, 100,
                    $nl.Counts, $nl.Neighbor, $nl.Delta, $null, -1) | Should -BeNullOrEmpty
            }
            # Whatever the arrays hold is overwritten.
            $c = $confs[4]
            $junkN = [int[]]::new(24 * 2 * 100); [Array]::Fill($junkN, 7)
            $junkD = [double[]]::new(24 * 2 * 100 * 3); [Array]::Fill($junkD, [double]::NaN)
            $junkC = [int[]]::new(24 * 2); [Array]::Fill($junkC, 99)
            $junk = [DpCompress.Core.Neighbors.NeighborList]::new(24, 2, 100, [int[]]::new(24), $junkC, $junkN, $junkD)
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $AgAu, 6.0, 100, $junk)
            [object]::ReferenceEquals($nl.Delta, $junkD) | Should -BeTrue
            [StructuresTests.BruteForce]::CompareExact($c.Cell, $c.Positions, $c.AtomicNumbers, $AgAu, 6.0, 100,
                $nl.Counts, $nl.Neighbor, $nl.Delta, $null, -1) | Should -BeNullOrEmpty
            # Another shape (K): new arrays.
            $other = [DpCompress.Core.Neighbors.NeighborSearch]::Build($confs[0], $AgAu, 6.0, 120, $nl)
            [object]::ReferenceEquals($other.Delta, $delta) | Should -BeFalse
            $other.Delta.Length | Should -Be (24 * 2 * 120 * 3)
        }
        It 'NeighborListBuffer (MD-style rebuilds writing only changed slots) gives the exact list at every step, after an error and a size change too' {
            $confs = @(Read-Pw 'Ag10Au14')
            $z = $AgAu
            # Squeezed to 60 %: more neighbours than K = 100 of one type, so Build throws midway.
            $c0 = $confs[0]
            $squeezed = New-Conf ([double[]]($c0.Cell | ForEach-Object { 0.6 * $_ })) ([double[]]($c0.Positions | ForEach-Object { 0.6 * $_ })) $c0.AtomicNumbers
            $steps = @($confs[0], $confs[3], (New-Unwrapped $confs[1] 9), $squeezed, $confs[2], (Read-Pw 'Ag45Au3')[0], $confs[4], $confs[0])
            $buffer = [DpCompress.Core.Neighbors.NeighborListBuffer]::new()
            $failures = 0; $previous = $null; $shared = 0
            foreach ($c in $steps) {
                try { $nl = $buffer.Build($c, $z, 6.0, 100) }
                catch {
                    $e = $_.Exception; while ($e -and $e -isnot [DpCompress.Core.DpCompressException]) { $e = $e.InnerException }
                    $e.ErrorId | Should -Be 'TooManyNeighbors'
                    $failures++; continue
                }
                [StructuresTests.BruteForce]::CompareExact($c.Cell, $c.Positions, $c.AtomicNumbers, $z, 6.0, 100,
                    $nl.Counts, $nl.Neighbor, $nl.Delta, $null, -1) | Should -BeNullOrEmpty
                if ($previous -and [object]::ReferenceEquals($previous, $nl.Delta)) { $shared++ }
                $previous = $nl.Delta
            }
            $failures | Should -Be 1
            $shared | Should -BeGreaterOrEqual 4   # the 24-atom steps rebuilt in the same arrays
        }
        It 'too many neighbours of one type on a later atom' {
            $c = (Read-Pw 'Ag10Au14')[0]
            Test-Exact $c $AgAu 6.0 30 | Should -BeNullOrEmpty
            Test-Exact $c $AgAu 6.0 45 | Should -BeNullOrEmpty
        }
    }
    Context 'slot layout' {
        BeforeAll {
            $script:c = (Read-Pw 'Ag10Au14')[2]
            $script:nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $AgAu, 6.0, 100)
        }
        It 'has [N, T], [N, T, K] and [N, T, K, 3] arrays and model types per atom' {
            $nl.Counts.Length | Should -Be (24 * 2)
            $nl.Neighbor.Length | Should -Be (24 * 2 * 100)
            $nl.Delta.Length | Should -Be (24 * 2 * 100 * 3)
            $nl.AtomTypes | Should -Be (@(0) * 10 + @(1) * 14)
            $nl.PresentTypes | Should -Be @(0, 1)
        }
        It 'the smallest |dR| gives PWMLFF''s max_sij_unscaled for Ag10Au14 image 2' {
            $rmin = [double]::MaxValue
            for ($s = 0; $s -lt $nl.Neighbor.Length; $s++) {
                if ($nl.Neighbor[$s] -ge 0) {
                    $r = [math]::Sqrt($nl.Delta[3 * $s] * $nl.Delta[3 * $s] + $nl.Delta[3 * $s + 1] * $nl.Delta[3 * $s + 1] + $nl.Delta[3 * $s + 2] * $nl.Delta[3 * $s + 2])
                    $rmin = [math]::Min($rmin, $r)
                }
            }
            $ref = (Get-Content (Get-TestDataPath 'agau/reference_original.json') -Raw | ConvertFrom-Json).images |
                Where-Object { $_.system -eq 'Ag10Au14' -and $_.image_index -eq 2 }
            [math]::Abs((Get-SmoothWeight $rmin) - $ref.max_sij_unscaled) | Should -BeLessThan 1e-12
        }
        It 'a pure-Au configuration uses one present type' {
            $au = (Read-Pw 'Au32')[0]
            $n = [DpCompress.Core.Neighbors.NeighborSearch]::Build($au, $AgAu, 6.0, 100)
            $n.PresentTypes | Should -Be @(1)
            $n.Count(0, 0) | Should -Be 0
        }
    }
    Context 'invariance' {
        BeforeAll {
            $script:c = (Read-Pw 'Ag12Au36')[0]
            $script:ref = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $AgAu, 6.0, 150)
            function script:Get-SortedBlockDistances($nl, [int] $atom, [int] $type) {
                $d = for ($s = 0; $s -lt $nl.Count($atom, $type); $s++) {
                    $q = 3 * $nl.Slot($atom, $type, $s)
                    [math]::Sqrt($nl.Delta[$q] * $nl.Delta[$q] + $nl.Delta[$q + 1] * $nl.Delta[$q + 1] + $nl.Delta[$q + 2] * $nl.Delta[$q + 2])
                }
                $d | Sort-Object
            }
        }
        It 'translation (also by whole lattice vectors) keeps counts and distances' {
            $t = [DpCompress.Core.Structures.ConfigurationTransforms]::Translate($c, 13.7, -22.1, 40.3)
            $n = [DpCompress.Core.Neighbors.NeighborSearch]::Build($t, $AgAu, 6.0, 150)
            $n.Counts | Should -Be $ref.Counts
            $n.Neighbor | Should -Be $ref.Neighbor
            Get-MaxAbsDiff $n.Delta $ref.Delta | Should -BeLessThan 1e-10
        }
        It 'rotation rotates every dR' {
            $rot = [DpCompress.Core.Structures.ConfigurationTransforms]::RotationMatrix([double[]](1, 2, 3), 0.7)
            $t = [DpCompress.Core.Structures.ConfigurationTransforms]::Rotate($c, $rot)
            $n = [DpCompress.Core.Neighbors.NeighborSearch]::Build($t, $AgAu, 6.0, 150)
            $n.Counts | Should -Be $ref.Counts
            $n.Neighbor | Should -Be $ref.Neighbor
            $m = 0.0
            for ($s = 0; $s -lt $ref.Neighbor.Length; $s++) {
                for ($a = 0; $a -lt 3; $a++) {
                    $exp = $rot[3 * $a] * $ref.Delta[3 * $s] + $rot[3 * $a + 1] * $ref.Delta[3 * $s + 1] + $rot[3 * $a + 2] * $ref.Delta[3 * $s + 2]
                    $m = [math]::Max($m, [math]::Abs($n.Delta[3 * $s + $a] - $exp))
                }
            }
            $m | Should -BeLessThan 1e-10
            # the virial transforms as R W Rᵀ: its trace is invariant
            [math]::Abs(($t.Virial[0] + $t.Virial[4] + $t.Virial[8]) - ($c.Virial[0] + $c.Virial[4] + $c.Virial[8])) | Should -BeLessThan 1e-9
        }
        It 'permutation permutes the blocks' {
            $order = [int[]](47..0)
            $t = [DpCompress.Core.Structures.ConfigurationTransforms]::Permute($c, $order)
            $n = [DpCompress.Core.Neighbors.NeighborSearch]::Build($t, $AgAu, 6.0, 150)
            foreach ($k in 0, 5, 30, 47) {
                foreach ($type in 0, 1) {
                    $n.Count($k, $type) | Should -Be $ref.Count($order[$k], $type)
                    $a = Get-SortedBlockDistances $n $k $type
                    $b = Get-SortedBlockDistances $ref $order[$k] $type
                    Get-MaxAbsDiff ([double[]]$a) ([double[]]$b) | Should -BeLessThan 1e-10
                }
            }
            $t.Forces[0..2] | Should -Be $c.Forces[141..143]
        }
        It 'a 2×2×1 supercell gives every replica the neighbours of its original atom' {
            $s = [DpCompress.Core.Structures.ConfigurationTransforms]::Supercell($c, 2, 2, 1)
            $s.AtomCount | Should -Be 192
            $s.Energy | Should -Be (4 * $c.Energy)
            $n = [DpCompress.Core.Neighbors.NeighborSearch]::Build($s, $AgAu, 6.0, 150)
            for ($rep = 0; $rep -lt 4; $rep++) {
                for ($i = 0; $i -lt 48; $i += 7) {
                    foreach ($type in 0, 1) {
                        $a = Get-SortedBlockDistances $n ($rep * 48 + $i) $type
                        $b = Get-SortedBlockDistances $ref $i $type
                        Get-MaxAbsDiff ([double[]]$a) ([double[]]$b) | Should -BeLessThan 1e-10
                    }
                }
            }
        }
    }
    Context 'errors' {
        BeforeAll { $script:c = (Read-Pw 'Ag10Au14')[0] }
        It 'an element the model lacks is UnknownElement naming both' {
            $e = Get-DpError { [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, [int[]](79), 6.0, 100) }
            $e.ErrorId | Should -Be 'UnknownElement'
            $e.Kind | Should -Be 'InvalidData'
            $e.Message | Should -BeLike '*Ag (Z = 47)*Au (Z = 79)*'
        }
        It 'more neighbours than max_neigh_num is TooManyNeighbors (atom, type, count, limit)' {
            $e = Get-DpError { [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $AgAu, 6.0, 20) }
            $e.ErrorId | Should -Be 'TooManyNeighbors'
            $e.Kind | Should -Be 'LimitsExceeded'   # the model's limit, as the Fast engine's check and the DeePMD-kit search bound say
            $e.Message | Should -Match 'atom \d+ \(Ag\) has \d+ neighbours of model type \d .*max_neigh_num = 20'
        }
        It 'two atoms at the same place are OverlappingAtoms' {
            $o = New-Conf ([double[]](5, 0, 0, 0, 5, 0, 0, 0, 5)) ([double[]](1, 1, 1, 2, 2, 2, 1, 1, 1.00001)) ([int[]](47, 79, 47))
            (Get-DpError { [DpCompress.Core.Neighbors.NeighborSearch]::Build($o, $AgAu, 6.0, 500) }).ErrorId | Should -Be 'OverlappingAtoms'
        }
        It 'an atom on the periodic image of another is OverlappingAtoms' {
            $o = New-Conf ([double[]](5, 0, 0, 0, 5, 0, 0, 0, 5)) ([double[]](1, 1, 1, 6, 1, 1)) ([int[]](47, 79))
            (Get-DpError { [DpCompress.Core.Neighbors.NeighborSearch]::Build($o, $AgAu, 6.0, 500) }).ErrorId | Should -Be 'OverlappingAtoms'
        }
        It 'a flat cell is DegenerateCell' {
            $o = New-Conf ([double[]](5, 0, 0, 0, 5, 0, 5, 5, 0)) ([double[]](1, 1, 0)) ([int[]](47))
            (Get-DpError { [DpCompress.Core.Neighbors.NeighborSearch]::Build($o, $AgAu, 6.0, 100) }).ErrorId | Should -Be 'DegenerateCell'
        }
    }
    Context 'large cells (speed is measured by build.ps1 Bench, not asserted here)' {
        It 'builds the list of a 4,000-atom cell with the same per-atom counts as the 500-atom cell' {
            $c = ([DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'alloy5/PWdata/fcc_5x5x5_500')))[0]
            $big = [DpCompress.Core.Structures.ConfigurationTransforms]::Supercell($c, 2, 2, 2)
            $z = [int[]](22, 23, 24, 40, 41)
            $small = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $z, 6.0, 100)
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($big, $z, 6.0, 100)
            $nl.AtomCount | Should -Be 4000
            # Every image of atom i in the supercell has atom i's environment.
            $total = 0; foreach ($n in $nl.Counts) { $total += $n }
            $totalSmall = 0; foreach ($n in $small.Counts) { $totalSmall += $n }
            $total | Should -Be (8 * $totalSmall)
        }
    }
}
