# Hostile and broken configuration files (PWdata .npy, MOVEMENT, extended XYZ): each crafted file below
# used to crash the process, take super-linear time, or be read as something it is not; it now ends in
# an error with an id naming the file and the line, file or element. Files are generated in $TestDrive
# from scratch or from the shipped tests/data/formats files.

BeforeDiscovery {
    $script:Cube = 'Lattice="10 0 0 0 10 0 0 0 10"'
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:FormatsDir = Get-TestDataPath 'formats'

    # A .npy file: format $Major (1 or 2) with the dict literal $Header (padded to 64 bytes) and the raw $Data.
    function New-Npy([string] $Path, [string] $Header, [byte[]] $Data = @(), [int] $Major = 1) {
        $pre = if ($Major -eq 1) { 10 } else { 12 }
        $pad = (64 - ($pre + $Header.Length + 1) % 64) % 64
        $h = [System.Text.Encoding]::Latin1.GetBytes($Header + (' ' * $pad) + "`n")
        $len = if ($Major -eq 1) { [BitConverter]::GetBytes([uint16] $h.Length) } else { [BitConverter]::GetBytes([uint32] $h.Length) }
        $bytes = [System.Collections.Generic.List[byte]]::new()
        $bytes.AddRange([byte[]](0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, $Major, 0))
        $bytes.AddRange([byte[]] $len)
        $bytes.AddRange($h)
        $bytes.AddRange($Data)
        [System.IO.File]::WriteAllBytes($Path, $bytes.ToArray())
    }
    function Get-F8Bytes([double[]] $Values) {
        $b = [System.Collections.Generic.List[byte]]::new()
        foreach ($v in $Values) { $b.AddRange([BitConverter]::GetBytes($v)) }
        , $b.ToArray()
    }

    # A PWdata folder of one image of two Au atoms in a 4 Å cube; $Labels adds label files (name => values of one image).
    function New-PwFolder([string] $Name, [hashtable] $Labels = @{}) {
        $d = New-Item -ItemType Directory -Path (Join-Path $TestDrive $Name) -Force
        New-Npy (Join-Path $d 'position.npy') "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 6), }" (Get-F8Bytes 0, 0, 0, 0.5, 0.5, 0.5)
        New-Npy (Join-Path $d 'lattice.npy') "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 9), }" (Get-F8Bytes 4, 0, 0, 0, 4, 0, 0, 0, 4)
        New-Npy (Join-Path $d 'image_type.npy') "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }" (Get-F8Bytes 79, 79)
        foreach ($file in $Labels.Keys) {
            [double[]] $v = $Labels[$file]
            New-Npy (Join-Path $d $file) "{'descr': '<f8', 'fortran_order': False, 'shape': (1, $($v.Length)), }" (Get-F8Bytes $v)
        }
        $d.FullName
    }

    # The first frame of Ag10Au14_valid.MOVEMENT (24 atoms: header, lattice at lines 2-5, Position 6-30, Force 31-55, dashes 56).
    $script:MovementFrame = @(Get-Content -LiteralPath (Join-Path $FormatsDir 'Ag10Au14_valid.MOVEMENT') -TotalCount 56)
    function New-Movement([string] $Name, [string[]] $Lines) {
        $p = Join-Path $TestDrive $Name
        Set-Content -LiteralPath $p -Value $Lines
        $p
    }

    $script:Cube = 'Lattice="10 0 0 0 10 0 0 0 10"'
    function New-Xyz([string] $Name, [string] $Text) {
        $p = Join-Path $TestDrive $Name
        Set-Content -LiteralPath $p -Value $Text -NoNewline
        $p
    }
    function Read-Configuration([string] $Path) { [DpCompress.Core.Structures.ConfigurationReader]::Read($Path) }
}

Describe 'Import-DpConfiguration: .npy headers (PWdata)' {
    It 'a header nesting <Kind> 20 deep is NpyCorrupt (containers nested too deep)' -ForEach @(
        @{ Kind = 'tuples'; Header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + ('(' * 20) + (')' * 20) + ', }' }
        @{ Kind = 'dicts'; Header = "{'a': " + ("{'a': " * 20) + '1' + ('}' * 20) + ", 'descr': '<f8', 'shape': (1, 6)}" }
    ) {
        $p = Join-Path $TestDrive "nested_$Kind.npy"
        New-Npy $p $Header
        $e = Get-DpError { [DpCompress.Core.Structures.NpyReader]::Read($p) }
        $e.ErrorId | Should -Be 'NpyCorrupt'
        $e.Message | Should -BeLike '*nested deeper than*'
    }

    It 'a 60 KB header of 60,000 opening brackets is ConfigurationCorrupt (NpyCorrupt inside), not a stack overflow that kills the process' {
        $d = New-PwFolder 'nest60k'
        New-Npy (Join-Path $d 'position.npy') ("{'descr': '<f8', 'fortran_order': False, 'shape': " + ('(' * 60000) + '}')
        $err = $null
        Import-DpConfiguration -LiteralPath $d -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationCorrupt,*'
        $err[0].Exception.InnerException.ErrorId | Should -Be 'NpyCorrupt'
        $err[0].Exception.Message | Should -BeLike '*position.npy*nested deeper than*'
        ([regex]::Matches($err[0].Exception.Message, 'position\.npy')).Count | Should -Be 1   # the path once, not twice
    }

    It 'a Fortran-order shape of 100,001 dimensions is NpyCorrupt before its elements are reordered' {
        $p = Join-Path $TestDrive 'rank.npy'
        New-Npy $p ("{'descr': '|u1', 'fortran_order': True, 'shape': (" + ('1, ' * 100000) + '4), }') ([byte[]](1, 2, 3, 4)) -Major 2
        $e = Get-DpError { [DpCompress.Core.Structures.NpyReader]::Read($p) }
        $e.ErrorId | Should -Be 'NpyCorrupt'
        $e.Message | Should -BeLike '*100001 dimensions*'
    }

    It 'a 64-dimension shape (numpy''s limit) still reads' {
        $p = Join-Path $TestDrive 'rank64.npy'
        New-Npy $p ("{'descr': '|u1', 'fortran_order': True, 'shape': (" + ('1, ' * 63) + '4), }') ([byte[]](1, 2, 3, 4))
        $a = [DpCompress.Core.Structures.NpyReader]::Read($p)
        $a.Rank | Should -Be 64
        $a.Data | Should -Be @(1, 2, 3, 4)
    }
}

Describe 'Import-DpConfiguration: PWdata labels' {
    It 'a non-finite value in <File> is ConfigurationCorrupt naming the file and image' -ForEach @(
        @{ File = 'energies.npy'; Values = @([double]::NaN) }
        @{ File = 'forces.npy'; Values = @(0, 0, 0, 0, [double]::NaN, 0) }
        @{ File = 'virials.npy'; Values = @(1, 0, 0, 0, 1, 0, 0, 0, [double]::PositiveInfinity) }
        @{ File = 'ei.npy'; Values = @(-1, [double]::NegativeInfinity) }
    ) {
        $d = New-PwFolder "label_$File" @{ $File = $Values }
        $err = $null
        Import-DpConfiguration -LiteralPath $d -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationCorrupt,*'
        $err[0].Exception.Message | Should -BeLike "*$File*image 0*not a finite number*"
    }

    It 'finite labels and the "no virial" rows of -1e5 still read' {
        $d = New-PwFolder 'labels_ok' @{ 'energies.npy' = @(-5.0); 'virials.npy' = @(-1e5) * 9 }
        $c = @(Import-DpConfiguration -LiteralPath $d)
        $c.Count | Should -Be 1
        $c[0].Energy | Should -Be (-5.0)
        $c[0].Virial | Should -BeNullOrEmpty
    }
}

Describe 'Import-DpConfiguration: MOVEMENT' {
    It 'a header declaring 20 atoms before blocks of 24 is ConfigurationCorrupt, not a frame of 20 atoms with the energy of 24' {
        $lines = $MovementFrame.Clone()
        $lines[0] = $lines[0] -replace '^\s*24 atoms', '    20 atoms'
        $e = Get-DpError { Read-Configuration (New-Movement 'fewer.MOVEMENT' $lines) }
        $e.ErrorId | Should -Be 'ConfigurationCorrupt'
        $e.Message | Should -BeLike '*line 27*position block has more atom lines than the 20 atoms*'
    }

    It 'a <Where> of <Value> is ConfigurationCorrupt naming line <Line>' -ForEach @(
        @{ Where = 'lattice value'; Line = 3; Value = 'NaN'; Pattern = '8.1499996185E+00' }
        @{ Where = 'stress value'; Line = 3; Value = 'Infinity'; Pattern = '2.361934E+01' }
        @{ Where = 'fractional position'; Line = 7; Value = 'NaN'; Pattern = '0.500184023345618' }
        @{ Where = 'force'; Line = 32; Value = '-Infinity'; Pattern = $null }
    ) {
        $lines = $MovementFrame.Clone()
        if ($Pattern) { $lines[$Line - 1] = $lines[$Line - 1].Replace($Pattern, $Value) }
        else { $t = -split $lines[$Line - 1]; $t[1] = $Value; $lines[$Line - 1] = ' ' + ($t -join '  ') }
        $e = Get-DpError { Read-Configuration (New-Movement "nonfinite$Line.MOVEMENT" $lines) }
        $e.ErrorId | Should -Be 'ConfigurationCorrupt'
        $e.Message | Should -BeLike "*line $Line *'$Value' is not a finite number*"
    }

    It 'an Ep of NaN is ConfigurationCorrupt' {
        $lines = $MovementFrame.Clone()
        $lines[0] = $lines[0].Replace('-7.9919776917E+01 -7.9919776917E+01', '-7.9919776917E+01 NaN')
        (Get-DpError { Read-Configuration (New-Movement 'nanEp.MOVEMENT' $lines) }).ErrorId | Should -Be 'ConfigurationCorrupt'
    }

    It 'a second Position block in one frame is ConfigurationCorrupt, not silently the later one' {
        $second = $MovementFrame[5..29].Clone()
        $second[1] = $second[1].Replace('0.500184023345618', '0.100000000000000')
        $lines = $MovementFrame[0..29] + $second + $MovementFrame[30..55]
        $e = Get-DpError { Read-Configuration (New-Movement 'twice.MOVEMENT' $lines) }
        $e.ErrorId | Should -Be 'ConfigurationCorrupt'
        $e.Message | Should -BeLike "*line 31 *second 'Position' block*"
    }

    It 'a Force block before the Position block is still checked atom by atom against it' {
        $force = $MovementFrame[30..54].Clone()
        $force[1] = $force[1] -replace '^(\s*)47', '${1}79'
        $lines = $MovementFrame[0..4] + $force + $MovementFrame[5..29] + $MovementFrame[55]
        $e = Get-DpError { Read-Configuration (New-Movement 'forcefirst.MOVEMENT' $lines) }
        $e.ErrorId | Should -Be 'ConfigurationCorrupt'
        $e.Message | Should -BeLike '*atom 0 is Z = 47 in the position block but Z = 79 in the force block*'
    }

    It 'the same blocks in that order, consistent, read as the original frame' {
        $lines = $MovementFrame[0..4] + $MovementFrame[30..54] + $MovementFrame[5..29] + $MovementFrame[55]
        $c = @(Read-Configuration (New-Movement 'forcefirst_ok.MOVEMENT' $lines))
        $o = @(Read-Configuration (New-Movement 'original.MOVEMENT' $MovementFrame))
        $c[0].Forces | Should -Be $o[0].Forces
        $c[0].Positions | Should -Be $o[0].Positions
    }
}

Describe 'Import-DpConfiguration: extended XYZ' {
    It '<Name> is ConfigurationCorrupt: <Pattern>' -ForEach @(
        @{ Name = 'two Lattice keys with different values'; Text = "1`n$Cube Lattice=`"5 0 0 0 5 0 0 0 5`"`nAu 0 0 0`n"; Pattern = "*line 2*'Lattice' is given twice with different values*" }
        @{ Name = 'Properties twice with different values'; Text = "1`n$Cube Properties=species:S:1:pos:R:3 properties=Z:I:1:pos:R:3`nAu 0 0 0`n"; Pattern = "*given twice with different values*" }
        @{ Name = 'pos and positions columns'; Text = "1`n$Cube Properties=species:S:1:pos:R:3:positions:R:3`nAu 0 0 0 1 1 1`n"; Pattern = "*line 2*declares the column 'pos' twice ('pos' and 'positions')*" }
        @{ Name = 'force and forces columns'; Text = "1`n$Cube Properties=species:S:1:pos:R:3:forces:R:3:force:R:3`nAu 0 0 0 1 1 1 2 2 2`n"; Pattern = "*declares the column 'forces' twice*" }
        @{ Name = 'species and Z columns that disagree'; Text = "1`n$Cube Properties=species:S:1:pos:R:3:Z:I:1`nAu 0 0 0 47`n"; Pattern = "*line 3*species column says Au (Z = 79) but the Z column says '47'*" }
        @{ Name = 'an energy of NaN'; Text = "1`n$Cube energy=NaN`nAu 0 0 0`n"; Pattern = "*line 2*energy='NaN' is not a finite number*" }
        @{ Name = 'two column counts of 2^31-1'; Text = "1`n$Cube Properties=species:S:1:pos:R:3:a:R:2147483647:b:R:2147483647`nAu 0 0 0 1`n"; Pattern = "*line 2*Properties declares more than 1000000 columns*" }
    ) {
        $err = $null
        Import-DpConfiguration -LiteralPath (New-Xyz 'bad.xyz' $Text) -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationCorrupt,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].Exception.Message | Should -BeLike $Pattern
    }

    It 'a key repeated with the same value, and species and Z that agree, still read' {
        $c = @(Import-DpConfiguration -LiteralPath (New-Xyz 'ok.xyz' "1`n$Cube $Cube pbc=`"T T T`" Properties=species:S:1:pos:R:3:Z:I:1`nAu 1 2 3 79`n"))
        $c.Count | Should -Be 1
        $c[0].AtomicNumbers | Should -Be @(79)
        $c[0].Positions | Should -Be @(1, 2, 3)
    }
}

Describe 'Import-DpConfiguration: line length' {
    It 'a line of more than 1 MiB characters (<Name>) is ConfigurationLineTooLong naming line <Line>' -ForEach @(
        @{ Name = 'an XYZ comment line'; File = 'long.xyz'; Line = 2; Before = "1`n$Cube junk="; After = "`nAu 0 0 0`n" }
        @{ Name = 'an XYZ atom line'; File = 'long.xyz'; Line = 3; Before = "1`n$Cube`nAu 0 0 0"; After = "`n" }
        @{ Name = 'a MOVEMENT header'; File = 'long.MOVEMENT'; Line = 1; Before = '    24 atoms,Iteration (fs) = 1.0, '; After = "`n" }
        @{ Name = 'the first line of a file without extension'; File = 'long'; Line = 1; Before = '1'; After = "`n" }
    ) {
        $filler = if ($Line -eq 3) { ' 1' * 600000 } else { 'a' * 1200000 }
        $err = $null
        Import-DpConfiguration -LiteralPath (New-Xyz $File ($Before + $filler + $After)) -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationLineTooLong,*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err[0].Exception.Message | Should -BeLike "*line $Line*longer than 1048576 characters*"
    }

    It 'a line of exactly 1 MiB characters, and \r\n and \r line ends, still read' {
        $comment = "$Cube note="
        $comment += 'a' * (1048576 - $comment.Length)
        foreach ($eol in "`n", "`r`n", "`r") {
            $c = @(Import-DpConfiguration -LiteralPath (New-Xyz 'edge.xyz' ("1$eol$comment${eol}Au 1 2 3$eol${eol}1${eol}$Cube${eol}Ag 0 0 0")))
            $c.Count | Should -Be 2
            $c[0].Positions | Should -Be @(1, 2, 3)
            $c[1].AtomicNumbers | Should -Be @(47)
        }
    }
}

Describe 'Invoke-DpModel: crowded configurations with a DeePMD-kit model (nearest sel kept)' {
    BeforeAll {
        $script:DeepMd = Import-DpModel -LiteralPath (Get-TestDataPath 'deepmd/se_e2_a_agau.dp')
        function Invoke-Crowded([string] $Name, [string] $Text) {
            $err = $null
            $out = Import-DpConfiguration -LiteralPath (New-Xyz $Name $Text) | Invoke-DpModel -Model $DeepMd -ErrorAction SilentlyContinue -ErrorVariable err
            [pscustomobject]@{ Output = $out; Error = $err }
        }
    }

    It 'one atom in a 0.2 Å cell (112,930 own images within rcut) is TooManyNeighbors explaining the search limit, not PWMLFF''s max_neigh_num' {
        $r = Invoke-Crowded 'tiny.xyz' "1`nLattice=`"0.2 0 0 0 0.2 0 0 0 0.2`"`nAu 0 0 0`n"
        $r.Output | Should -BeNullOrEmpty
        $r.Error[0].FullyQualifiedErrorId | Should -BeLike 'TooManyNeighbors,*'
        $r.Error[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $r.Error[0].Exception.Message | Should -BeLike '*atom 0 (Au) has 112930 neighbours*DeePMD-kit keeps the nearest sel = `[60, 96`]*'
        $r.Error[0].Exception.Message | Should -Not -BeLike '*PWMLFF*'
    }

    It '2,000 Au atoms in a 5 Å cube are refused before the complete list grows past 1 GiB' {
        $rng = [System.Random]::new(1)
        $sb = [System.Text.StringBuilder]::new("2000`nLattice=`"5 0 0 0 5 0 0 0 5`"`n")
        for ($i = 0; $i -lt 2000; $i++) { $null = $sb.AppendFormat([cultureinfo]::InvariantCulture, "Au {0:F6} {1:F6} {2:F6}`n", 5 * $rng.NextDouble(), 5 * $rng.NextDouble(), 5 * $rng.NextDouble()) }
        $r = Invoke-Crowded 'dense.xyz' $sb.ToString()
        $r.Output | Should -BeNullOrEmpty
        $r.Error[0].FullyQualifiedErrorId | Should -BeLike 'TooManyNeighbors,*'
        $r.Error[0].Exception.Message | Should -BeLike '*more than 6144 neighbours of one type*GiB*'
    }

    It 'one atom in a 0.5 Å cell (7,238 own images) is still evaluated with the nearest sel kept' {
        $r = Invoke-Crowded 'small.xyz' "1`nLattice=`"0.5 0 0 0 0.5 0 0 0 0.5`"`nAu 0 0 0`n"
        $r.Error | Should -BeNullOrEmpty
        [double]::IsFinite($r.Output.Energy) | Should -BeTrue
    }
}

Describe 'Invoke-DpModel: cells of absurd size' {
    It 'a cell of 1e308 Å vectors is DegenerateCell saying it is too large, not "degenerate (volume Infinity)"' {
        $model = Import-DpModel -LiteralPath (Get-TestDataPath 'agau/dp_model.ckpt')
        $err = $null
        Import-DpConfiguration -LiteralPath (New-Xyz 'huge.xyz' "1`nLattice=`"1e308 0 0 0 1e308 0 0 0 1e308`"`nAu 0 0 0`n") |
            Invoke-DpModel -Model $model -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DegenerateCell,*'
        $err[0].Exception.Message | Should -BeLike '*too large to compute with*1E+308 0 0*'
        $err[0].Exception.Message | Should -Not -BeLike '*Infinity*'
    }
}

Describe 'Import-DpConfiguration: PWdata folder trees with links' {
    BeforeAll {
        # Pester lists $TestDrive with GetFileSystemEntries(AllDirectories), which follows folder links: each It removes its links.
        $script:Links = [System.Collections.Generic.List[string]]::new()
        function New-DirLink([string] $Path, [string] $Target) {
            $null = [System.IO.Directory]::CreateSymbolicLink($Path, $Target)
            $Links.Add($Path)
        }
    }
    AfterEach {
        foreach ($l in $Links) { [System.IO.File]::Delete($l) }
        $Links.Clear()
    }

    It 'a folder holding links to itself and its parent ends, and is ConfigurationFormatUnknown' {
        $loop = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'loop') -Force
        New-DirLink (Join-Path $loop 'a') '.'
        New-DirLink (Join-Path $loop 'b') '.'
        New-DirLink (Join-Path $loop 'c') '../loop'
        $err = $null
        Import-DpConfiguration -LiteralPath $loop.FullName -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationFormatUnknown,*'
    }

    It 'a PWdata folder reached again through links is read once; a linked-in folder keeps its link name' {
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'tree') -Force
        $data = New-PwFolder 'tree/data/Au2'
        New-DirLink (Join-Path $data 'up') '..'
        New-DirLink (Join-Path $root 'again') 'data'
        New-DirLink (Join-Path $root 'abs') $root.FullName
        $elsewhere = New-PwFolder 'elsewhere/run17'
        New-DirLink (Join-Path $root 'Linked') $elsewhere
        $c = @(Import-DpConfiguration -LiteralPath $root.FullName)
        $c.Count | Should -Be 2
        $c.Name | Sort-Object | Should -Be @('Au2', 'Linked')
    }
}

Describe 'Import-DpConfiguration -Format: a path of the other kind' {
    It '-Format PwData on an XYZ file is ConfigurationFormatUnknown, not ConfigurationNotFound ("does not exist")' {
        $err = $null
        Import-DpConfiguration -LiteralPath (Join-Path $FormatsDir 'Ag10Au14_valid.xyz') -Format PwData -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationFormatUnknown,*'
        $err[0].Exception.Message | Should -BeLike '*to be read as PwData*but it is another file*'
    }

    It '-Format PwData on a position.npy reads its folder, as detection does' {
        $d = New-PwFolder 'format_npy'
        @(Import-DpConfiguration -LiteralPath (Join-Path $d 'position.npy') -Format PwData).Count | Should -Be 1
    }

    It '-Format <Format> on a PWdata folder is ConfigurationFormatUnknown' -ForEach @(@{ Format = 'Movement' }, @{ Format = 'ExtendedXyz' }) {
        $d = New-PwFolder "format_$Format"
        $err = $null
        Import-DpConfiguration -LiteralPath $d -Format $Format -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationFormatUnknown,*'
        $err[0].Exception.Message | Should -BeLike "*to be read as $Format*but it is a folder*"
    }

    It '-Format ExtendedXyz on a binary .npy quotes its first line without control characters' {
        $d = New-PwFolder 'format_binary'
        $e = Get-DpError { [DpCompress.Core.Structures.ConfigurationReader]::Read((Join-Path $d 'position.npy'), 'ExtendedXyz') }
        $e.ErrorId | Should -Be 'ConfigurationCorrupt'
        $e.Message | Should -BeLike "*line 1: expected the atom count*NUMPY*"
        $e.Message.ToCharArray().Where({ [char]::IsControl($_) }).Count | Should -Be 0
    }
}

Describe 'Neighbour lists too large for memory' {
    It 'N·T·K beyond one array (24 atoms, K = 5e7) is NeighborListTooLarge, not an OverflowException' {
        $c = @(Import-DpConfiguration -LiteralPath (Join-Path $FormatsDir 'Ag10Au14_valid.xyz'))[0]
        $e = Get-DpError { [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, [int[]](47, 79), 6.0, 50000000) }
        $e.ErrorId | Should -Be 'NeighborListTooLarge'
        $e.Kind | Should -Be 'LimitsExceeded'
        $e.Message | Should -BeLike '*24 atoms × 2 model types × 50000000 slots*more than one array can hold*'
    }

    It 'a 14 MB PWdata folder of 3.6 million atoms is NeighborListTooLarge at Invoke-DpModel, before anything is allocated for it' {
        $n = 3600000
        $d = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'huge') -Force
        New-Npy (Join-Path $d 'position.npy') "{'descr': '|u1', 'fortran_order': False, 'shape': (1, $(3 * $n)), }" ([byte[]]::new(3 * $n))
        New-Npy (Join-Path $d 'lattice.npy') "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 9), }" (Get-F8Bytes 1000, 0, 0, 0, 1000, 0, 0, 0, 1000)
        $types = [byte[]]::new($n); [Array]::Fill($types, [byte] 79)
        New-Npy (Join-Path $d 'image_type.npy') "{'descr': '|u1', 'fortran_order': False, 'shape': (1, $n), }" $types
        $model = Import-DpModel -LiteralPath (Get-TestDataPath 'agau/dp_model.ckpt')
        $err = $null
        Invoke-DpModel -Model $model -Configuration $d.FullName -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NeighborListTooLarge,*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
    }
}

Describe 'Import-DpConfiguration: PWdata atom count' {
    It 'an image_type.npy of 10,000,001 atoms is ConfigurationTooManyAtoms, as in the text formats, before position.npy is decoded' {
        $n = 10000001
        $d = New-PwFolder 'toomany'
        $types = [byte[]]::new($n); [Array]::Fill($types, [byte] 79)
        New-Npy (Join-Path $d 'image_type.npy') "{'descr': '|u1', 'fortran_order': False, 'shape': (1, $n), }" $types
        $err = $null
        Import-DpConfiguration -LiteralPath $d -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConfigurationTooManyAtoms,*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err[0].Exception.Message | Should -BeLike '*image_type.npy*10000001 atoms*'
    }
}

Describe 'Invoke-DpModel: many atoms in a tiny cell (PWMLFF model)' {
    It '30 atoms in a 0.1 Å cube are TooManyNeighbors after at most 2^20 gathered images of the first atom' {
        $rng = [System.Random]::new(3)
        $sb = [System.Text.StringBuilder]::new("30`nLattice=`"0.1 0 0 0 0.1 0 0 0 0.1`"`n")
        for ($i = 0; $i -lt 30; $i++) { $null = $sb.AppendFormat([cultureinfo]::InvariantCulture, "Au {0:F8} {1:F8} {2:F8}`n", 0.1 * $rng.NextDouble(), 0.1 * $rng.NextDouble(), 0.1 * $rng.NextDouble()) }
        $model = Import-DpModel -LiteralPath (Get-TestDataPath 'agau/dp_model.ckpt')
        $err = $null
        Import-DpConfiguration -LiteralPath (New-Xyz 'crowd.xyz' $sb.ToString()) | Invoke-DpModel -Model $model -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TooManyNeighbors,*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err[0].Exception.Message | Should -Match 'atom 0 \(Au\) has more than 10\d{5} neighbours of model type 1 \(Au\).*max_neigh_num = 100 \(the search stopped counting at 10\d{5} neighbours of all types\)'
    }
}
