@{
    Synopsis    = 'Checks that a compressed model predicts what the original predicts; returns $true or $false.'
    Description = @'
Test-CompressedModel evaluates the compressed model and its reference (the original model; by default the original nets kept inside the compressed checkpoint) on the same configurations with the same engine, and compares energies per atom, forces and virials per atom. It returns $true when every largest difference is within its tolerance, else $false. Values of s beyond the table are a warning, or a failure with -FailOnOutOfTable.

With -Detailed it returns the VerificationReport instead: the tolerance checks with the configuration where each maximum occurred, the largest and RMS differences (MaxEnergyError in eV/atom, MaxForceError in eV/Å, MaxVirialError in eV/atom, and their RMS; the median and 95th percentile over configurations of |ΔE|/atom and of each configuration's largest |ΔF| in CompressedVsOriginal, computed with MathNet.Numerics), both models' errors against the DFT labels when the data has them, the counts of s values beyond the table or the training range, Dx, Order, Passed, Reasons and Warnings. The report gives no speed figure: each configuration is evaluated once, cold, which measures accuracy but not speed; time models with Measure-DpInference (warm-up, repeats, fixed threads). Pipe such reports to Export-DpChart to plot accuracy against dx.

PWMLFF and LAMMPS. Users run a compressed PWMLFF checkpoint in PWMLFF's own runtime (PWMLFF's Python forward, and the TorchScript it writes for LAMMPS), which looks the table up differently from DpCompress: interval starts in float32, and wrong rows for any pair at or above the file's sij_max. For PWMLFF models Test-CompressedModel therefore also evaluates the compressed model as PWMLFF's runtime does and reports it against the original in PwmlffRuntime (MaxEnergyError, MaxForceError, MaxVirialError, Checks, ConfigurationsInOuterBranch, LayoutIsPwmlffExact) and in the "PWMLFF/LAMMPS runtime" line of the report. A table laid out with Invoke-DpCompression's default -Layout Pwmlff gives the same numbers both ways. When PWMLFF's runtime misses a tolerance while DpCompress's evaluation passes, the report warns; -Runtime Pwmlff makes PWMLFF's runtime decide the verdict.
'@
    Parameters  = @{
        Model            = 'The compressed model to check.'
        Reference        = 'The original model to compare with. By default the uncompressed nets stored in the compressed model.'
        Data             = 'The configurations to compare on: Configuration objects from Import-DpConfiguration, or paths of PWdata folders, MOVEMENT or extended XYZ files (wildcard characters are expanded).'
        EnergyTolerance  = 'The largest accepted energy difference per atom, eV/atom. Measured on the Ag-Au data: a correct order-3 table at dx 0.01 gives 3e-10, PWMLFF''s own compressed file 1.4e-3.'
        ForceTolerance   = 'The largest accepted force component difference, eV/Å. Measured: order 3 at dx 0.01 gives 4e-7, PWMLFF''s file 1.2.'
        VirialTolerance  = 'The largest accepted virial component difference per atom, eV/atom. Measured: order 3 at dx 0.01 gives 5e-8, PWMLFF''s file 1.0.'
        FailOnOutOfTable = 'Fails the check when any s value lies beyond the last table node (continued linearly). By default that is only a warning.'
        Detailed         = 'Returns the comparison report instead of $true or $false.'
        Runtime          = 'Whose table lookup decides the verdict: DpCompress (default; the exact lookup) or Pwmlff (what PWMLFF''s runtime and LAMMPS compute with the file). PWMLFF models are reported both ways in either case; DeePMD-kit models accept only DpCompress.'
        Engine           = 'The engine used for both models: Fast (default; float64 kernels with analytic gradients) or Reference (TorchSharp autograd, mirrors PWMLFF).'
        ThrottleLimit    = 'Threads of the Fast engine. Default: the number of processors.'
    }
    Defaults    = @{ ThrottleLimit = 'the number of processors' }
    Inputs      = @{
        'DpCompress.Core.Model.DpModel' = 'The compressed model.'
    }
    Outputs     = @{
        'System.Boolean'                                = '$true when the compressed model matches within the tolerances, else $false.'
        'DpCompress.Core.Verification.VerificationReport' = 'With -Detailed, the full comparison.'
    }
    Examples    = @(
        @{
            Title   = 'What PWMLFF and LAMMPS will compute with a compressed file'
            Code    = @'
$data = Import-DpConfiguration ./tests/data/agau/PWdata
$report = Import-DpModel ./tests/data/agau/cmp_o3_dx0.01.ckpt | Test-CompressedModel -Data $data -Reference (Import-DpModel ./tests/data/agau/dp_model.ckpt) -Detailed
$report.PwmlffRuntime
'@
            Remarks = 'PWMLFF''s own compressed file: its runtime is 0.95 eV off on Ag10Au14 image 2 (a pair at sij_max takes its broken outer branch). A file from Invoke-DpCompression (default layout) is 1e-10 eV/atom off in both evaluations.'
        }
        @{
            Title   = 'Verify a compression'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$model | Invoke-DpCompression -Dx 0.01 -Order 3 | Test-CompressedModel -Reference $model -Data ./tests/data/agau/PWdata/Ag10Au14
'@
            Remarks = 'Prints True.'
        }
        @{
            Title   = 'The full report, with a tighter force tolerance'
            Code    = @'
$cmp = Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpCompression -Dx 0.01 -Order 5
$cmp | Test-CompressedModel -Data (Import-DpConfiguration ./tests/data/agau/PWdata) -ForceTolerance 1e-8 -Detailed | Format-List
'@
            Remarks = 'Compares on all 160 configurations against the original nets kept in the compressed model, and shows every maximum and RMS difference.'
        }
        @{
            Title   = 'Check a checkpoint written by PWMLFF'
            Code    = 'Import-DpModel ./tests/data/agau/cmp_o3_dx0.01.ckpt | Test-CompressedModel -Data ./tests/data/agau/PWdata/Ag12Au12 -Detailed | Format-List Passed, MaxEnergyError, MaxForceError, Reasons'
            Remarks = 'PWMLFF''s own compressed file carries the table its step bug produced: the report shows force differences far above those of a DpCompress table (MaxEnergyError 1.02E-04 eV/atom, MaxForceError 0.28 eV/Å). Format-List shows every digit; a table of these four properties (Select-Object) would print the energy error as 0.00.'
        }
    )
    Links       = @('Invoke-DpCompression', 'Invoke-DpModel', 'Export-DpChart')
}
