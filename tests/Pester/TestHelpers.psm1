# Shared by the Pester test files: imports the module under test and locates test data.
function Import-DpCompressUnderTest {
    $manifest = $env:DPCOMPRESS_MODULE
    if (-not $manifest) { $manifest = Join-Path $PSScriptRoot '../../out/DpCompress/DpCompress.psd1' }
    Import-Module $manifest -Force -Global -ErrorAction Stop
}

function Get-TestDataPath([string] $Relative) {
    Join-Path (Resolve-Path (Join-Path $PSScriptRoot '../data')).ProviderPath $Relative
}

Export-ModuleMember -Function Import-DpCompressUnderTest, Get-TestDataPath
