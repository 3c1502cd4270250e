# Shared by the Pester test files: imports the module under test and locates test data.
function Import-DpCompressUnderTest {
    $manifest = $env:DPCOMPRESS_MODULE
    if (-not $manifest) { $manifest = Join-Path $PSScriptRoot '../../out/DpCompress/DpCompress.psd1' }
    Import-Module $manifest -Force -Global -ErrorAction Stop
}

function Get-TestDataPath([string] $Relative) {
    Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../data')).ProviderPath $Relative
}

# Largest |A[i] − B[i]| over the elements of two arrays (compared as doubles; B as long as A).
function Get-MaxAbsDiff($A, $B) {
    $m = 0.0
    for ($i = 0; $i -lt $A.Count; $i++) { $m = [math]::Max($m, [math]::Abs([double]$A[$i] - [double]$B[$i])) }
    $m
}

# The DpCompressException thrown by $Action (unwrapping PowerShell's MethodInvocationException and other
# wrappers), or $null when it throws nothing; any other exception is rethrown.
function Get-DpError([scriptblock] $Action) {
    try { & $Action | Out-Null } catch {
        $e = $_.Exception
        while ($e -and $e -isnot [DpCompress.Core.DpCompressException]) { $e = $e.InnerException }
        if ($e) { return $e }
        throw
    }
    return $null
}

# A temporary file of a writer (TempFiles: ".<target name>.<32 hex>.tmp" beside the target) as a killed export leaves
# it: three bytes, last written two hours ago, or just now with -Fresh. Returns its path.
function New-WriterTempFile([string] $Target, [switch] $Fresh) {
    $path = Join-Path (Split-Path -Parent $Target) ('.{0}.{1}.tmp' -f (Split-Path -Leaf $Target), [guid]::NewGuid().ToString('N'))
    [System.IO.File]::WriteAllBytes($path, [byte[]](1, 2, 3))
    if (-not $Fresh) { (Get-Item -LiteralPath $path -Force).LastWriteTimeUtc = [datetime]::UtcNow.AddHours(-2) }
    $path
}

Export-ModuleMember -Function Import-DpCompressUnderTest, Get-TestDataPath, Get-MaxAbsDiff, Get-DpError, New-WriterTempFile
