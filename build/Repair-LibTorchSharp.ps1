<#
.SYNOPSIS
Makes TorchSharp's native bridge load on machines whose libstdc++ predates GCC 13.

.DESCRIPTION
TorchSharp 0.107.0's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32 for one symbol
(_ZSt21ios_base_library_initv) that is referenced but never relocated. Debian 12 ships
GLIBCXX_3.4.30, so loading fails. When the machine's libstdc++ lacks the version, this script
marks that single version requirement WEAK (VER_FLG_WEAK in .gnu.version_r) in the given copy
of the library (the build output; the NuGet cache is never touched). Idempotent.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $LibraryPath,
    [string] $Version = 'GLIBCXX_3.4.32'
)
$ErrorActionPreference = 'Stop'

function Test-SystemHasVersion([string] $v) {
    $candidates = '/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/usr/lib64/libstdc++.so.6', '/lib/x86_64-linux-gnu/libstdc++.so.6'
    foreach ($c in $candidates) {
        if (Test-Path -LiteralPath $c) {
            $text = [System.Text.Encoding]::ASCII.GetString([System.IO.File]::ReadAllBytes((Resolve-Path -LiteralPath $c).ProviderPath))
            return $text.Contains($v + [char]0)
        }
    }
    return $false
}

if (-not (Test-Path -LiteralPath $LibraryPath)) { throw "LibTorchSharp not found at '$LibraryPath'." }
if (Test-SystemHasVersion $Version) { Write-Verbose "System libstdc++ provides $Version; nothing to repair."; return }

$bytes = [System.IO.File]::ReadAllBytes($LibraryPath)
if ($bytes[0] -ne 0x7F -or $bytes[1] -ne 0x45 -or $bytes[4] -ne 2) { throw "'$LibraryPath' is not a 64-bit ELF file." }
$shoff = [BitConverter]::ToInt64($bytes, 0x28)
$shentsize = [BitConverter]::ToUInt16($bytes, 0x3A)
$shnum = [BitConverter]::ToUInt16($bytes, 0x3C)
function Get-Section([int] $i) {
    $o = $shoff + $i * $shentsize
    [pscustomobject]@{
        Type = [BitConverter]::ToUInt32($bytes, $o + 4)
        Offset = [BitConverter]::ToInt64($bytes, $o + 0x18)
        Link = [BitConverter]::ToUInt32($bytes, $o + 0x28)
        Info = [BitConverter]::ToUInt32($bytes, $o + 0x2C)
    }
}
function Get-CString([long] $at) {
    $end = $at; while ($bytes[$end] -ne 0) { $end++ }
    [System.Text.Encoding]::ASCII.GetString($bytes, $at, $end - $at)
}
$SHT_GNU_verneed = 0x6ffffffe
$VER_FLG_WEAK = 0x2
$patched = 0
for ($s = 0; $s -lt $shnum; $s++) {
    $sec = Get-Section $s
    if ($sec.Type -ne $SHT_GNU_verneed) { continue }
    $strtab = (Get-Section $sec.Link).Offset
    $vn = $sec.Offset
    for ($n = 0; $n -lt $sec.Info; $n++) {
        $cnt = [BitConverter]::ToUInt16($bytes, $vn + 2)
        $aux = $vn + [BitConverter]::ToUInt32($bytes, $vn + 8)
        for ($a = 0; $a -lt $cnt; $a++) {
            $name = Get-CString ($strtab + [BitConverter]::ToUInt32($bytes, $aux + 8))
            if ($name -eq $Version) {
                $flags = [BitConverter]::ToUInt16($bytes, $aux + 4)
                if (($flags -band $VER_FLG_WEAK) -eq 0) {
                    $new = [BitConverter]::GetBytes([uint16]($flags -bor $VER_FLG_WEAK))
                    $bytes[$aux + 4] = $new[0]; $bytes[$aux + 5] = $new[1]
                    $patched++
                }
            }
            $aux += [BitConverter]::ToUInt32($bytes, $aux + 12)
        }
        $vn += [BitConverter]::ToUInt32($bytes, $vn + 12)
    }
}
if ($patched -gt 0) {
    [System.IO.File]::WriteAllBytes($LibraryPath, $bytes)
    Write-Host "Repaired $(Split-Path -Leaf $LibraryPath): marked $Version weak (this machine's libstdc++ lacks it)."
} else {
    Write-Verbose "$Version requirement already weak or absent."
}
