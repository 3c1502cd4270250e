# The README's code blocks are what new users copy: run them (on a smaller data set where the
# README uses all 160 configurations) so they cannot drift from the cmdlets.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $readme = Get-Content -Raw (Join-Path $root 'README.md')
    $script:blocks = [regex]::Matches($readme, '(?s)```powershell\r?\n(.*?)```') | ForEach-Object { $_.Groups[1].Value }
    function Invoke-ReadmeBlock([string] $Code, [string] $Data) {
        $code = $Code.Replace('./tests/data/agau/PWdata', $Data).Replace('./tests/data', (Join-Path $root 'tests/data'))
        Push-Location $TestDrive
        try { & ([scriptblock]::Create($code)) } finally { Pop-Location }
    }
}

Describe 'README examples' {
    It 'has the canonical pipeline, the Pester check and the sweep' {
        $blocks.Count | Should -BeGreaterOrEqual 3
    }
    It 'runs the canonical pipeline and the regression check' {
        $few = Join-Path $root 'tests/data/agau/PWdata/Ag12Au12'
        Invoke-ReadmeBlock $blocks[0] $few
        Test-Path (Join-Path $TestDrive 'cmp.ckpt') | Should -BeTrue
        # The regression-check block ends in Should -BeTrue: it throws if the check fails.
        { Invoke-ReadmeBlock $blocks[1] $few } | Should -Not -Throw
    }
    It 'runs the sweep: a tidy CSV with order, dx and errors, and two charts' {
        $few = Join-Path $root 'tests/data/agau/PWdata/Ag45Au3'
        Invoke-ReadmeBlock $blocks[2] $few
        $rows = Import-Csv (Join-Path $TestDrive 'sweep.csv')
        $rows.Count | Should -Be 6
        ($rows[0].PSObject.Properties.Name) | Should -Be 'Order', 'Dx', 'MaxEnergyError', 'MaxForceError', 'MaxVirialError', 'Passed'
        [double](($rows | Where-Object { $_.Order -eq '5' -and $_.Dx -eq '0.01' }).MaxForceError) | Should -BeLessThan 1e-9
        (Get-Item (Join-Path $TestDrive 'error-vs-dx.png')).Length | Should -BeGreaterThan 1000
        (Get-Item (Join-Path $TestDrive 'phases.png')).Length | Should -BeGreaterThan 1000
        $orders = Import-Csv (Join-Path $TestDrive 'orders.csv')
        $orders.Count | Should -Be 6
        [double](($orders | Where-Object { $_.TableOrder -eq '3' -and $_.Quantity -eq 'MaxForceError' }).P) | Should -BeGreaterThan 2.5
    }
    It 'runs the type-embedding example: compress, export, verify' {
        $few = Join-Path $root 'tests/data/agau/PWdata/Ag12Au12'
        $te = @($blocks | Where-Object { $_ -match 'dp_te_model' })[0]
        $report = Invoke-ReadmeBlock $te $few
        Test-Path (Join-Path $TestDrive 'cmp_te.ckpt') | Should -BeTrue
        $report.Passed | Should -BeTrue
        $report.CompressedVsOriginal.MaxForceError | Should -BeLessThan 1e-9
    }
}
