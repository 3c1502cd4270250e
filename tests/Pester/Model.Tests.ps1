BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    function New-Layer([int] $In, [int] $Out) {
        [DpCompress.Core.Model.DenseLayer]::new($In, $Out, [double[]]::new($In * $Out), [double[]]::new($Out), $null, $true)
    }
}

Describe 'Network skip rules (SPEC §2)' {
    It 'follows the shape rule in embedding nets: <In> -> <Out> is <Kind>' -ForEach @(
        @{ In = 1; Out = 25; Kind = 'None' }, @{ In = 25; Out = 25; Kind = 'Identity' }, @{ In = 25; Out = 50; Kind = 'Doubled' }
    ) {
        $net = [DpCompress.Core.Model.EmbeddingNet]::new([DpCompress.Core.Model.DenseLayer[]]@((New-Layer 1 $In), (New-Layer $In $Out)))
        $net.Layers[1].Skip | Should -Be $Kind
    }
    It 'never adds a skip after the first fitting layer, even when its shape would allow one (PWMLFF FittingNet.forward)' {
        $fit = [DpCompress.Core.Model.FittingNet]::new([DpCompress.Core.Model.DenseLayer[]]@((New-Layer 50 50), (New-Layer 50 50), (New-Layer 50 1)))
        $fit.Layers[0].Skip | Should -Be 'None'
        $fit.Layers[1].Skip | Should -Be 'Identity'
    }
}
