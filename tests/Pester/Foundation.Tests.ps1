BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
}

Describe 'DpCompress module' {
    It 'imports from the publish folder with its manifest' {
        $m = Get-Module DpCompress
        $m | Should -Not -BeNullOrEmpty
        $m.Version | Should -Be ([version]'0.1.0')
    }
}

Describe 'TorchSharp inside pwsh' {
    It 'loads libtorch' {
        [DpCompress.Core.Inference.TorchRuntime]::Version | Should -Match '^\d+\.\d+'
    }
    It 'computes float64 autograd gradients that match the analytic derivative' {
        $g = [DpCompress.Core.Inference.TorchRuntime]::GradientSelfCheck()
        $x = 0.1, 0.2, 0.3
        for ($i = 0; $i -lt 3; $i++) {
            $t = [math]::Tanh($x[$i])
            [math]::Abs($g[$i] - 2 * $t * (1 - $t * $t)) | Should -BeLessThan 1e-15
        }
    }
}
