@{
    Synopsis    = 'Predicts energies, forces and virials of configurations with a DP model, compressed or not.'
    Description = @'
Invoke-DpModel evaluates the model on each configuration as PWMLFF does (SPEC §2): total energy E, atomic energies E_i in atom order, forces F = -dE/dr (eV/Å) and the virial (9 values, eV). A compressed model evaluates its tables instead of the embedding nets.

Two engines give the same numbers: Reference (TorchSharp autograd, the closest to PWMLFF) and Fast (analytic gradients in plain .NET, much faster). Configurations are evaluated in parallel up to -ThrottleLimit, and the predictions come back in input order.

A prediction counts the s values beyond the table (OutOfTableCount) and beyond the training range (BeyondTrainingCount): the cmdlet warns when a compressed model had to extrapolate.
'@
    Parameters  = @{
        Model         = 'The model to evaluate.'
        Configuration = 'The configurations to evaluate, usually piped from Import-DpConfiguration.'
        Engine        = 'Reference (TorchSharp autograd) or Fast (analytic, default).'
        ThrottleLimit = 'The largest number of configurations evaluated at the same time. Default: the number of processors.'
    }
    Defaults    = @{ ThrottleLimit = 'the number of processors' }
    Inputs      = @{
        'DpCompress.Core.Structures.Configuration' = 'Configurations, from Import-DpConfiguration.'
    }
    Outputs     = @{
        'DpCompress.Core.Inference.Prediction' = 'One prediction per configuration: Energy, EnergyPerAtom, AtomicEnergies, Forces, Virial and the extrapolation counts.'
    }
    Examples    = @(
        @{
            Title   = 'Energies of the Ag10Au14 images'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14 | Invoke-DpModel -Model $model
'@
            Remarks = 'One prediction per image.'
        }
        @{
            Title   = 'Original and compressed model on the same data'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$compressed = $model | Invoke-DpCompression -Dx 0.01 -Order 5
$data = Import-DpConfiguration ./tests/data/agau/PWdata/Ag45Au3
$a = $data | Invoke-DpModel -Model $model -Engine Reference
$b = $data | Invoke-DpModel -Model $compressed -Engine Fast
$a[0].Energy - $b[0].Energy
'@
            Remarks = 'The energy difference is at the level of float64 rounding.'
        }
    )
    Links       = @('Import-DpConfiguration', 'Test-CompressedModel', 'Measure-DpInference')
}
