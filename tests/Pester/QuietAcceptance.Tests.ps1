# Inputs the readers used to accept silently (issue 15, item 4): each is now either accepted with
# a warning that says what was done, or refused with an error id. The files are derived at test
# time from the valid Ag10Au14 fixtures, so the only difference is the defect under test.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:formats = Get-TestDataPath 'formats'
    $script:xyz = Join-Path $formats 'Ag10Au14_valid.xyz'
    $script:movement = Join-Path $formats 'Ag10Au14_valid.MOVEMENT'
    $script:pwdata = Get-TestDataPath 'agau/PWdata/Ag10Au14/valid'
    $script:model = Import-DpModel (Get-TestDataPath 'agau/dp_model.ckpt')
    $script:reference = Import-DpConfiguration $xyz

    # Rewrites every atom line (a line of 7 tokens starting with a letter) of the XYZ fixture.
    function New-XyzVariant([string] $Name, [scriptblock] $AtomLine) {
        $out = Join-Path $TestDrive $Name
        $lines = foreach ($l in Get-Content $xyz) { if ($l -match '^[A-Za-z]+(\s+\S+){6}\s*$') { & $AtomLine $l } else { $l } }
        Set-Content -Path $out -Value $lines
        $out
    }

    # A little-endian int64 .npy of shape (1, n).
    function Write-NpyInt64Row([string] $Path, [long[]] $Values) {
        $header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, $($Values.Count)), }"
        $header = $header.PadRight(64 - 10 - 1) + "`n"
        $bytes = [System.Collections.Generic.List[byte]]::new()
        $bytes.Add(0x93)
        $bytes.AddRange([Text.Encoding]::ASCII.GetBytes('NUMPY'))
        $bytes.Add(1); $bytes.Add(0)
        $bytes.AddRange([BitConverter]::GetBytes([uint16]$header.Length))
        $bytes.AddRange([Text.Encoding]::ASCII.GetBytes($header))
        foreach ($v in $Values) { $bytes.AddRange([BitConverter]::GetBytes($v)) }
        [IO.File]::WriteAllBytes($Path, $bytes.ToArray())
    }
}

Describe 'Extended XYZ: an extra column is accepted with a warning' {
    It 'ignores the undeclared column, keeps the declared ones, and says so once for the file' {
        $p = New-XyzVariant 'extra.xyz' { param($l) "$l 0.5" }
        $w = $null
        $c = Import-DpConfiguration $p -WarningVariable w -WarningAction SilentlyContinue
        $c.Count | Should -Be 5
        $c[3].Positions | Should -Be $reference[3].Positions
        $c[3].Forces | Should -Be $reference[3].Forces
        @($w).Count | Should -Be 1
        "$($w[0])" | Should -Match '5 of 5 frame\(s\) have atom lines with more columns than Properties declares \(line 3 has 8 columns where Properties declares 7\)'
    }
    It 'hints at undeclared forces when Properties has none and three columns are left over' {
        $p = Join-Path $TestDrive 'undeclared.xyz'
        (Get-Content $xyz) -replace 'Properties=species:S:1:pos:R:3:forces:R:3', 'Properties=species:S:1:pos:R:3' | Set-Content $p
        $w = $null
        $c = Import-DpConfiguration $p -WarningVariable w -WarningAction SilentlyContinue
        $c[0].Forces | Should -BeNullOrEmpty
        "$($w[0])" | Should -Match 'If they hold forces, declare them: Properties=species:S:1:pos:R:3:forces:R:3'
    }
    It 'gives no warning for the valid file' {
        $w = $null
        Import-DpConfiguration $xyz -WarningVariable w | Out-Null
        $w | Should -BeNullOrEmpty
    }
}

Describe 'Extended XYZ: element symbols in another case are accepted with a warning' {
    It 'reads ag and AU as Ag and Au and names them' {
        $p = New-XyzVariant 'case.xyz' { param($l) $l -replace '^Ag ', 'ag ' -replace '^Au ', 'AU ' }
        $w = $null
        $c = Import-DpConfiguration $p -WarningVariable w -WarningAction SilentlyContinue
        $c[0].AtomicNumbers | Should -Be $reference[0].AtomicNumbers
        @($w).Count | Should -Be 1
        "$($w[0])" | Should -Match "element symbols not in their usual case were read as 'AU' -> Au, 'ag' -> Ag\."
    }
    It 'surfaces the warning through cmdlets that read paths (Invoke-DpModel)' {
        $p = New-XyzVariant 'case2.xyz' { param($l) $l -replace '^Ag ', 'ag ' }
        $w = $null
        $pred = Invoke-DpModel -Model $model -Configuration $p -WarningVariable w -WarningAction SilentlyContinue
        $pred.Count | Should -Be 5
        "$($w[0])" | Should -Match "'ag' -> Ag"
    }
}

Describe 'MOVEMENT: a frame without its Force block is accepted with a warning' {
    It 'keeps the frame without forces and names it' {
        $lines = Get-Content $movement
        # Frame 1 starts at line 57 (index 56); drop its Force block (header + 24 atom lines).
        $start = ($lines | Select-String -Pattern '^\s*Force' | Select-Object -Skip 1 -First 1).LineNumber - 1
        $cut = $lines[0..($start - 1)] + $lines[($start + 25)..($lines.Count - 1)]
        $p = Join-Path $TestDrive 'noforce.MOVEMENT'
        Set-Content $p $cut
        $w = $null
        $c = Import-DpConfiguration $p -WarningVariable w -WarningAction SilentlyContinue
        $c.Count | Should -Be 5
        $c[1].Forces | Should -BeNullOrEmpty
        $c[1].Energy | Should -Be (Import-DpConfiguration $movement)[1].Energy
        $c[0].Forces | Should -Not -BeNullOrEmpty
        @($w).Count | Should -Be 1
        "$($w[0])" | Should -Match "1 of 5 frame\(s\) have no 'Force' block and carry no DFT forces \(frame 1\)"
    }
    It 'gives no warning for the valid file' {
        $w = $null
        Import-DpConfiguration $movement -WarningVariable w | Out-Null
        $w | Should -BeNullOrEmpty
    }
}

Describe 'PWdata: atom_type.npy disagreeing with image_type.npy is refused' {
    BeforeEach {
        $script:copy = Join-Path $TestDrive "pw$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        Copy-Item $pwdata $copy -Recurse
    }
    It 'refuses <Name> with PwDataTypeMismatch' -ForEach @(
        @{ Name = 'an element image_type lacks (Cu for Au)'; Types = [long[]](47, 29) }
        @{ Name = 'a missing element'; Types = [long[]](47) }
        @{ Name = 'an extra element'; Types = [long[]](47, 79, 29) }
    ) {
        Write-NpyInt64Row (Join-Path $copy 'atom_type.npy') $Types
        $err = $null
        Import-DpConfiguration $copy -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'PwDataTypeMismatch,DpCompress.PowerShell.Commands.ImportDpConfigurationCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].Exception.Message | Should -Match 'image_type.npy holds Ag, Au'
    }
    It 'accepts the same elements in another order' {
        Write-NpyInt64Row (Join-Path $copy 'atom_type.npy') ([long[]](79, 47))
        (Import-DpConfiguration $copy).Count | Should -Be 5
    }
}
