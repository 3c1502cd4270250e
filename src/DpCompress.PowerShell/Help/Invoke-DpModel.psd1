@{
    Synopsis    = 'Predicts energies, forces and virials of configurations with a DP model, compressed or not.'
    Description = @'
Invoke-DpModel evaluates the model on each configuration as PWMLFF does: total energy E, atomic energies E_i in atom order, forces F = -dE/dr (eV/Å) and the virial (9 values, eV). A compressed model evaluates its tables instead of the embedding nets.

Two engines give the same numbers: Fast (default; float64 kernels with analytic gradients, parallel over -ThrottleLimit threads) and Reference (TorchSharp autograd, mirrors PWMLFF). The predictions come back in input order.

A prediction counts the s values beyond the table (OutOfTableCount) and beyond the training range (BeyondTrainingCount), so you can see when a compressed model had to extrapolate.

An atom with more neighbours of one type within the cutoff than a PWMLFF model's max_neigh_num is TooManyNeighbors (LimitsExceeded; PWMLFF would drop neighbours silently). A DeePMD-kit model keeps the nearest sel of each type, picked from a list of every neighbour; when that list would need more than 65,536 slots for one atom and type, or more than 1 GiB once it grows beyond 4 times its first size (atoms far closer together than in any material), the configuration is TooManyNeighbors too. A neighbour list of N atoms × model types × max_neigh_num slots that would take more than half the memory available (28 bytes a slot), or more than one array can hold, is NeighborListTooLarge (LimitsExceeded), before it is allocated.
'@
    Parameters  = @{
        Model         = 'The model to evaluate (from Import-DpModel or Invoke-DpCompression). A DpModel piped in binds here by its type; several piped models are each evaluated on all configurations.'
        Configuration = 'The configurations to evaluate: Configuration objects piped from Import-DpConfiguration, or paths of PWdata folders, MOVEMENT or extended XYZ files (wildcard characters are expanded), which are read first.'
        Runtime       = 'Compressed models only. DpCompress (default): the table evaluated exactly. Pwmlff: what PWMLFF''s runtime and the TorchScript it writes for LAMMPS compute with the same file, reproduced operation by operation (float32 interval starts; pairs at or above the file''s sij_max read wrong rows). Each prediction says which in its Runtime property; the Model column of the default table reads "as in PWMLFF" for the latter, "compressed" for the former and "original" for an uncompressed model.'
        Engine        = 'Fast (default): float64 kernels with analytic gradients. Reference: TorchSharp autograd, mirrors PWMLFF; it keeps every neighbour slot in memory (about 8·(32 + 6·Σ embedding widths + 4·m) bytes per atom, type and max_neigh_num slot) and refuses a configuration whose estimate exceeds 4 GiB or half the available memory (ReferenceEngineMemoryLimit): use Fast for large cells.'
        ThrottleLimit = 'Threads of the Fast engine. Default: the number of processors.'
    }
    Defaults    = @{ ThrottleLimit = 'the number of processors' }
    Inputs      = @{
        'DpCompress.Core.Model.DpModel' = 'A model (binds to -Model by type); give the configurations with -Configuration.'
        'System.Object[]' = 'Configurations from Import-DpConfiguration, or paths to read.'
    }
    Outputs     = @{
        'DpCompress.Core.Inference.Prediction' = 'One prediction per configuration: Energy, EnergyPerAtom, AtomicEnergies, Forces, Virial and the extrapolation counts.'
    }
    Examples    = @(
        @{
            Title   = 'What PWMLFF and LAMMPS compute with a compressed file'
            Code    = @'
$cmp = Import-DpModel ./tests/data/agau/cmp_o3_dx0.01.ckpt
Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14 | Invoke-DpModel -Model $cmp -Runtime Pwmlff
'@
            Remarks = 'Evaluates PWMLFF''s own compressed file as PWMLFF''s runtime does; image 2 comes out 0.95 eV below the original model.'
        }
        @{
            Title   = 'Energies of the Ag10Au14 images'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14 | Invoke-DpModel -Model $model
'@
            Remarks = 'One prediction per image.'
        }
        @{
            Title   = 'The model from the pipeline'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpModel -Configuration ./tests/data/agau/PWdata/Ag10Au14'
            Remarks = 'The piped DpModel binds to -Model by its type; the configurations are read once.'
        }
        @{
            Title   = 'Paths instead of configurations'
            Code    = 'Invoke-DpModel (Import-DpModel ./tests/data/agau/dp_model.ckpt) ./tests/data/formats/Au32_first10.xyz | Select-Object -First 2'
            Remarks = 'Positional -Model and -Configuration; the extended XYZ file is read on the way.'
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
            Remarks = 'The reference engine on the original model against the fast engine on the compressed one: the energies agree to far below the model''s own error.'
        }
    )
    Links       = @('Import-DpConfiguration', 'Test-CompressedModel', 'Measure-DpInference')
}
