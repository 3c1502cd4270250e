@{
    Synopsis    = 'Computes the grid of normalised s values on which a model''s embedding nets are tabulated.'
    Description = @'
New-SijGrid builds the SijGrid that Invoke-DpCompression tabulates on. From the largest raw S(r) the model will meet (sij_max) it computes the normalised range over all centre types, s_min = min_t (0 - davg[t]) / dstd[t] and s_max = max_t (sij_max - davg[t]) / dstd[t], an inner grid x_k = s_min + k·dx up to s_max, and PWMLFF's coarse outer grid (step 10·dx, up to 10·s_max) for configurations beyond the training set.

sij_max comes, in order of preference, from -SijMax (a value you give), from a scan of -TrainingData (the largest S(r) over those configurations), or from the checkpoint's own sij_max. The grid records which one it used (Source). With -TrainingData, a warning starting SijMaxBelowData says when the checkpoint's own sij_max lies below the largest S(r) in the data (a table built without -TrainingData would put those pairs beyond its training range); a non-positive sij_max from any source is refused with InvalidSijMax.

-Layout Pwmlff (the default for PWMLFF models) lays the grid out for PWMLFF's runtime: the step is the largest power of two not above -Dx, the start is floor(s_min/dx)·dx, and the inner grid ends at the first node above the s of a pair at -CoverDistance (default 0.75 times the closest pair distance implied by sij_max), so that PWMLFF's float32 interval starts are exact and no pair that far apart takes PWMLFF's broken outer branch. -Layout Exact keeps exactly the dx you typed and ends the inner grid at s_max, as PWMLFF compress does. The outer grid follows PWMLFF's rule in both. -Verbose states the layout chosen.

Use it to inspect the table size before compressing, or to compress several times on the same grid.
'@
    Parameters  = @{
        Model        = 'The (uncompressed) model whose normalisation statistics and cutoffs define the grid.'
        Dx           = 'The step of the inner grid in normalised s. Smaller steps give more accurate and larger tables (rows grow as 1/dx).'
        SijMax       = 'The largest raw S(r) (before normalisation) to cover with the inner grid. Overrides the checkpoint''s sij_max.'
        Layout       = 'Pwmlff (default for PWMLFF models): a grid PWMLFF''s runtime evaluates exactly (power-of-two dx not above -Dx, aligned start, inner end above every pair down to -CoverDistance). Exact: exactly the -Dx typed, inner grid up to s_max (default for DeePMD-kit models).'
        CoverDistance = 'Pwmlff layout only: the smallest pair distance, in Å, whose s the inner grid must cover. Closer pairs would take PWMLFF''s broken outer branch. Default: 0.75 times the closest pair distance implied by sij_max.'
        TrainingData = 'Configurations to scan for the largest S(r), instead of the checkpoint''s sij_max: Configuration objects from Import-DpConfiguration, or paths of PWdata folders, MOVEMENT or extended XYZ files (wildcard characters are expanded). The verbose stream reports the closest pair of atoms found.'
    }
    Outputs     = @{
        'DpCompress.Core.Compression.SijGrid' = 'The grid: SMin, SMax, Dx, InnerIntervals, OuterPoints, Rows, InnerEnd and the source of sij_max; Layout (Pwmlff or Exact), RequestedDx (the dx asked for), CoverDistance (Pwmlff layout), RuntimeSijMax (the sij_max written to the file) and IsPwmlffExact (true when PWMLFF''s runtime evaluates a table on this grid exactly).'
    }
    Examples    = @(
        @{
            Title   = 'The grid PWMLFF would use'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | New-SijGrid -Dx 0.01'
            Remarks = 'Shows the normalised range and the number of inner and outer intervals for a requested dx of 0.01, from the checkpoint''s sij_max. With the default PWMLFF runtime layout the step (Dx) is 2^-7 = 0.0078125 and the inner grid ends at 8.15625 (Inner end), above the training maximum s max 6.036658; add -Layout Exact for PWMLFF compress''s own grid.'
        }
        @{
            Title   = 'A grid from the training data, reused for two orders'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$grid = $model | New-SijGrid -Dx 0.01 -TrainingData ./tests/data/agau/PWdata -Verbose
$o3 = $model | Invoke-DpCompression -Grid $grid -Order 3
$o5 = $model | Invoke-DpCompression -Grid $grid -Order 5
'@
            Remarks = 'Scans the 160 Ag-Au configurations for the largest S(r), then compresses twice on that grid.'
        }
    )
    Links       = @('Invoke-DpCompression', 'Import-DpConfiguration')
}
