# The fitted convergence order of a sweep (err ≈ C·dx^p, least squares on log–log axes): exact on
# synthetic power laws, blind to the round-off floor, and on the real model the orders a Hermite
# table of order q must show (q+1 for the energy, q for forces and virials).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    function New-Point([double] $Dx, [double] $Err) { [DpCompress.Core.Verification.SweepPoint]::new($Dx, $Err) }
    function Invoke-Fit($Points) { [DpCompress.Core.Verification.ConvergenceFit]::Fit([DpCompress.Core.Verification.SweepPoint[]]$Points) }
}

Describe 'ConvergenceFit' {
    It 'recovers p = <P> and C = <C> from an exact power law' -ForEach @(@{ P = 4.0; C = 3e-3 }, @{ P = 5.5; C = 0.2 }, @{ P = 1.0; C = 1.0 }) {
        $pts = foreach ($dx in 0.2, 0.1, 0.05, 0.02) { New-Point $dx ($C * [math]::Pow($dx, $P)) }
        $f = Invoke-Fit $pts
        [math]::Abs($f.Order - $P) | Should -BeLessThan 1e-10
        [math]::Abs($f.Prefactor / $C - 1) | Should -BeLessThan 1e-10
        [math]::Abs($f.RSquared - 1) | Should -BeLessThan 1e-12
        $f.UsedDx | Should -Be @(0.2, 0.1, 0.05, 0.02)
    }
    It 'is the least-squares slope of ln err on ln dx for scattered points' {
        $dx = 0.1, 0.05, 0.02, 0.01; $err = 1e-4, 1e-5, 2e-7, 1e-8
        $f = Invoke-Fit (0..3 | ForEach-Object { New-Point $dx[$_] $err[$_] })
        $lx = $dx | ForEach-Object { [math]::Log($_) }; $ly = $err | ForEach-Object { [math]::Log($_) }
        $mx = ($lx | Measure-Object -Average).Average; $my = ($ly | Measure-Object -Average).Average
        $num = 0.0; $den = 0.0
        for ($i = 0; $i -lt 4; $i++) { $num += ($lx[$i] - $mx) * ($ly[$i] - $my); $den += ($lx[$i] - $mx) * ($lx[$i] - $mx) }
        [math]::Abs($f.Order - $num / $den) | Should -BeLessThan 1e-12
        $f.RSquared | Should -BeLessThan 1
    }
    It 'leaves out the steps at the round-off floor (order 5 of the README sweep)' {
        $f = Invoke-Fit @((New-Point 0.1 1.7e-6), (New-Point 0.01 1.8e-11), (New-Point 0.001 1.3e-11))
        $f.UsedDx | Should -Be @(0.1, 0.01)
        $f.ExcludedDx | Should -Be @(0.001)
        [math]::Abs($f.Order - [math]::Log10(1.7e-6 / 1.8e-11)) | Should -BeLessThan 1e-12
    }
    It 'leaves out a step where the floor flattens the slope below 2/3 of the earlier slopes (order 5 energies, all 160 configurations)' {
        $dx = 0.1, 0.05, 0.02, 0.01, 0.005, 0.002; $err = 2.102e-8, 2.010e-10, 8.191e-13, 1.377e-14, 2.368e-15, 2.368e-15
        $f = Invoke-Fit (0..5 | ForEach-Object { New-Point $dx[$_] $err[$_] })
        $f.UsedDx | Should -Be @(0.1, 0.05, 0.02, 0.01)    # local slope 0.01 -> 0.005 is 2.54, the ones before ~6
        $f.ExcludedDx | Should -Be @(0.005, 0.002)
        $f.Order | Should -BeGreaterThan 5.8
        $f.Order | Should -BeLessThan 6.5
    }
    It 'trims only the fine end: a noisy step inside the range stays (order 3 virial errors, dyadic steps)' {
        $dx = 0..6 | ForEach-Object { [math]::Pow(2, -4 - $_) }
        $err = 2.183e-5, 1.643e-6, 3.309e-7, 2.303e-8, 4.288e-9, 4.826e-10, 3.247e-11
        $f = Invoke-Fit (0..6 | ForEach-Object { New-Point $dx[$_] $err[$_] })
        $f.UsedDx.Count | Should -Be 7
        $f.ExcludedDx | Should -BeNullOrEmpty
        $f.RSquared | Should -BeLessThan 0.999
    }
    It 'gives no order with fewer than two points above the floor' {
        $f = Invoke-Fit @((New-Point 0.01 1e-15), (New-Point 0.001 2e-15))
        $f.Order | Should -BeNullOrEmpty
        $f.ExcludedDx | Should -Be @(0.001)
    }
    It 'refuses two results at the same dx (SweepDuplicateDx)' {
        $e = $null
        try { Invoke-Fit @((New-Point 0.1 1e-4), (New-Point 0.1 2e-4)) } catch { $e = $_.Exception.InnerException }
        $e.ErrorId | Should -Be 'SweepDuplicateDx'
    }
}

Describe 'Measure-DpConvergence' {
    BeforeAll {
        $agau = Get-TestDataPath 'agau'
        $model = Import-DpModel (Join-Path $agau 'dp_model.ckpt')
        $data = Import-DpConfiguration (Join-Path $agau 'PWdata/Ag10Au14')
        $script:sweep = foreach ($o in 3, 5) { foreach ($dx in 0.2, 0.1, 0.05) {
                $model | Invoke-DpCompression -Order $o -Dx $dx | Test-CompressedModel -Data $data -Detailed -WarningAction SilentlyContinue } }
        $script:fits = $sweep | Measure-DpConvergence
    }
    It 'returns one fit per table order and quantity' {
        $fits.Count | Should -Be 6
        ($fits | ForEach-Object { "$($_.TableOrder) $($_.Quantity)" }) | Should -Be @(
            '3 MaxEnergyError', '3 MaxForceError', '3 MaxVirialError', '5 MaxEnergyError', '5 MaxForceError', '5 MaxVirialError')
        $fits | ForEach-Object { $_.PointCount | Should -Be 3 }
    }
    It 'order <Order>, <Quantity>: p is close to <Expected> (Hermite table error dx^(q+1), its derivative dx^q)' -ForEach @(
        @{ Order = 3; Quantity = 'MaxEnergyError'; Expected = 4 }
        @{ Order = 3; Quantity = 'MaxForceError'; Expected = 3 }
        @{ Order = 3; Quantity = 'MaxVirialError'; Expected = 3 }
        @{ Order = 5; Quantity = 'MaxEnergyError'; Expected = 6 }
        @{ Order = 5; Quantity = 'MaxForceError'; Expected = 5 }
        @{ Order = 5; Quantity = 'MaxVirialError'; Expected = 5 }
    ) {
        $f = $fits | Where-Object { $_.TableOrder -eq $Order -and $_.Quantity -eq $Quantity }
        [math]::Abs($f.P - $Expected) | Should -BeLessThan 0.6
        $f.RSquared | Should -BeGreaterThan 0.97
    }
    It 'fits the same p as ConvergenceFit on the report values' {
        $r3 = @($sweep | Where-Object Order -EQ 3)
        $direct = Invoke-Fit ($r3 | ForEach-Object { New-Point $_.Dx $_.MaxForceError })
        ($fits | Where-Object { $_.TableOrder -eq 3 -and $_.Quantity -eq 'MaxForceError' }).P | Should -Be $direct.Order
    }
    It 'warns when no order can be fitted' {
        $w = $null
        $f = [pscustomobject]@{ Order = 3; Dx = 0.1; MaxForceError = 1e-4 } | Measure-DpConvergence -Quantity MaxForceError -WarningVariable w -WarningAction SilentlyContinue
        $f.P | Should -BeNullOrEmpty
        "$($w[0])" | Should -Match 'fewer than two grid steps'
    }
    It 'refuses input without the property (SweepPropertyMissing)' {
        { [pscustomobject]@{ Order = 3; Dx = 0.1 } | Measure-DpConvergence -Quantity MaxForceError -ErrorAction Stop } |
            Should -Throw -ErrorId 'SweepPropertyMissing,DpCompress.PowerShell.Commands.MeasureDpConvergenceCommand'
    }
}
