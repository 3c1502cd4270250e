@{
    Synopsis    = 'Times a model''s inference (energy, forces, virial) and splits the time by phase.'
    Description = @'
Measure-DpInference runs -Warmup untimed passes, then -Repeat timed passes over all configurations, for every model and every engine given, and reports per model and engine the median time of one pass (TotalMs) and of the model alone without the neighbour search (ModelMs), the fastest pass (MinMs), microseconds per atom, memory, and the average time per phase: neighbour search (as in an MD loop, each search reuses the previous list's arrays when the atom count is unchanged, for PWMLFF's lists and for DeePMD-kit's nearest-sel[t] lists alike), environment matrix, embedding nets (or table), descriptor, fitting nets and the backward pass (forces and virial), with the share of the embedding nets and their gradient (EmbeddingShare).

Each timing of a compressed model carries its speedup over the uncompressed model on the same engine, computed from ModelMs (Speedup, SpeedupOver). Export-DpChart draws the timings (PhaseBreakdown, Speedup).

The default table fits 80 columns: Label (model and engine), Threads, Total ms, Model ms, µs/atom (from the total) and Speedup. Format-Table -View Detail adds the engine, the atoms per pass, the embedding share and the allocation per pass.

The default of one thread gives figures comparable across machines; raise -ThrottleLimit to time the parallel Fast engine.

All models and engines are timed in the same rounds: after each one's warm-up passes, every round runs, for each in turn, an untimed pass (its caches then hold its own data, as in an MD loop) and a timed one, so a slow spell of a shared machine falls on all of them alike and the Speedup holds (timed one after another, a ratio moved by 10 to 20 % between runs on a shared 2-core machine). With several models a run therefore takes Warmup + 2·Repeat passes of each. A model whose pass fails is reported as an error and the others go on. PeakWorkingSetMB is the largest growth of the process working set during one pass of that model (its first warm-up pass allocates its buffers).
'@
    Parameters  = @{
        Model         = 'One or more models to time, for example an original and its compressed version (piped or as an array).'
        Data          = 'The configurations of one pass: Configuration objects from Import-DpConfiguration, or paths to read (wildcard characters are expanded).'
        Repeat        = 'The number of timed passes; the median is reported.'
        Warmup        = 'The number of untimed passes before timing: JIT, caches, first TorchSharp call.'
        Engine        = 'The engines to time: Fast (default), Reference, or both (-Engine Reference, Fast).'
        ThrottleLimit = 'Threads of the Fast engine. The default, one thread, gives figures comparable across machines.'
    }
    Inputs      = @{
        'DpCompress.Core.Model.DpModel[]' = 'Models to time.'
    }
    Outputs     = @{
        'DpCompress.Core.Inference.InferenceTiming' = 'One timing per model and engine: Label, TotalMs, MinMs, the per-phase *Ms times, EmbeddingShare, MicrosecondsPerAtom, memory, and Speedup over the uncompressed model.'
    }
    Examples    = @(
        @{
            Title   = 'Original against compressed'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$compressed = $model | Invoke-DpCompression -Dx 0.01 -Order 3
$model, $compressed | Measure-DpInference -Data ./tests/data/agau/PWdata/Ag10Au14 -Repeat 3
'@
            Remarks = 'Two timings; the compressed one shows its speedup over the original.'
        }
        @{
            Title   = 'Both engines, charted by phase'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$data = Import-DpConfiguration ./tests/data/agau/PWdata/Ag12Au12
$model | Measure-DpInference -Data $data -Engine Reference, Fast -Repeat 2 | Export-DpChart -Path phases.png
'@
            Remarks = 'Times the reference and the fast engine and draws where the time goes (the chart kind is inferred from the EmbeddingMs property).'
        }
    )
    Links       = @('Export-DpChart', 'Invoke-DpModel', 'Invoke-DpCompression')
}
