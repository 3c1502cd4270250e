@{
    Synopsis    = 'Checks that a compressed model predicts what the original predicts; returns $true or $false.'
    Description = @'
Test-CompressedModel evaluates the compressed model and its reference (the original model; by default the original nets kept inside the compressed checkpoint) on the same configurations and compares energies per atom, forces and virials. It returns $true when every difference is within the tolerances, else $false.

With -Detailed it returns the report instead: the largest and RMS differences of energy (eV/atom), force (eV/Å) and virial (eV), the configuration where each maximum occurred, the counts of s values beyond the table or the training range, and Passed. Pipe such reports to Export-DpChart to plot accuracy against dx.
'@
    Parameters  = @{
        Model           = 'The compressed model to check.'
        Reference       = 'The original model to compare with. By default the uncompressed nets stored in the compressed model.'
        Data            = 'The configurations to compare on (from Import-DpConfiguration).'
        EnergyTolerance = 'The largest accepted energy difference, eV/atom.'
        ForceTolerance  = 'The largest accepted force component difference, eV/Å.'
        VirialTolerance = 'The largest accepted virial component difference, eV.'
        Detailed        = 'Returns the comparison report instead of $true or $false.'
        Engine          = 'The engine used for both models: Fast (default; float64 kernels with analytic gradients) or Reference (TorchSharp autograd, mirrors PWMLFF).'
        FailOnOutOfTable = 'Fails the check when any s value lies beyond the last table node (continued linearly). By default that is only a warning.'
        ThrottleLimit   = 'Threads used by the Fast engine (default: all cores).'
    }
    Inputs      = @{
        'DpCompress.Core.Model.DpModel' = 'The compressed model.'
    }
    Outputs     = @{
        'System.Boolean' = '$true when the compressed model matches within the tolerances, else $false.'
    }
    Examples    = @(
        @{
            Title   = 'Verify a compression'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$model | Invoke-DpCompression -Dx 0.01 -Order 3 | Test-CompressedModel -Reference $model -Data (Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14)
'@
            Remarks = 'Prints True.'
        }
        @{
            Title   = 'The full report, with tighter tolerances'
            Code    = @'
$cmp = Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpCompression -Dx 0.01 -Order 5
$cmp | Test-CompressedModel -Data (Import-DpConfiguration ./tests/data/agau/PWdata) -ForceTolerance 1e-8 -Detailed | Format-List
'@
            Remarks = 'Compares on all 160 configurations against the original nets kept in the compressed model, and shows every maximum and RMS difference.'
        }
    )
    Links       = @('Invoke-DpCompression', 'Invoke-DpModel', 'Export-DpChart')
}
