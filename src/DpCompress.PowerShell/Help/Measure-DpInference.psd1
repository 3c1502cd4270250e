@{
    Synopsis    = 'Times a model''s inference (energy, forces, virial) and splits the time by phase.'
    Description = @'
Measure-DpInference runs -Warmup untimed passes, then -Repeat timed passes over all configurations, and reports the median time of one pass (TotalMs), the fastest pass, microseconds per atom, memory, and the average time per phase: neighbour search, environment matrix, embedding nets (or table), descriptor, fitting nets and the backward pass (forces and virial), with the share of the embedding nets and their gradient.

Pipe several models (original and compressed) or run it per engine: the timings compare directly, and Export-DpChart draws them (PhaseBreakdown, Speedup).
'@
    Parameters  = @{
        Model         = 'The model(s) to time.'
        Data          = 'The configurations of one pass (from Import-DpConfiguration).'
        Repeat        = 'The number of timed passes; the median is reported.'
        Warmup        = 'The number of untimed passes before timing (JIT, caches, first TorchSharp call).'
        Engine        = 'Reference (TorchSharp autograd) or Fast (analytic).'
        ThrottleLimit = 'The largest number of configurations evaluated at the same time. Default: the number of processors.'
    }
    Defaults    = @{ ThrottleLimit = 'the number of processors' }
    Inputs      = @{
        'DpCompress.Core.Model.DpModel' = 'Models to time.'
    }
    Outputs     = @{
        'DpCompress.Core.Inference.InferenceTiming' = 'One timing per model: Label, TotalMs, MinMs, the per-phase *Ms times, EmbeddingShare, MicrosecondsPerAtom, memory, and Speedup over the first model.'
    }
    Examples    = @(
        @{
            Title   = 'Original against compressed'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$compressed = $model | Invoke-DpCompression -Dx 0.01 -Order 3
$model, $compressed | Measure-DpInference -Data (Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14) -Repeat 5
'@
            Remarks = 'Two timings; the compressed one shows its speedup over the original.'
        }
        @{
            Title   = 'Chart the phases'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$data = Import-DpConfiguration ./tests/data/agau/PWdata/Ag12Au12
$model | Measure-DpInference -Data $data -Engine Reference -Repeat 3 | Export-DpChart -Path phases.png
'@
            Remarks = 'Times the reference engine and draws where the time goes (the chart kind is inferred from the EmbeddingMs property).'
        }
    )
    Links       = @('Export-DpChart', 'Invoke-DpModel', 'Invoke-DpCompression')
}
