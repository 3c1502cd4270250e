@{
    Synopsis    = 'Compresses a DP model: replaces its embedding nets by piecewise polynomial tables of s.'
    Description = @'
Invoke-DpCompression tabulates every embedding net G(s) of the model on a uniform grid of the normalised s (see New-SijGrid) and returns a compressed copy of the model. On each interval it fits, from the exact values and analytic derivatives of the net:

- Order 3: a cubic Hermite polynomial (value and first derivative at both ends);
- Order 5: a quintic (value, first and second derivative at both ends), orders of magnitude more accurate at the same dx.

The compressed model predicts what the original predicts, with differences far below the model's own error, and runs without evaluating the embedding nets. -Verbose reports the table size and its largest deviation from the nets. Write it with Export-DpModel (a PWMLFF-compatible checkpoint) and check it with Test-CompressedModel.

Table layout. By default (-Layout Pwmlff, for PWMLFF models) the grid is one that PWMLFF's own runtime (its Python forward and the TorchScript it writes for LAMMPS) evaluates exactly: PWMLFF computes interval starts in float32 and reads wrong rows for pairs at or above the file's sij_max. So the step is the largest power of two not above -Dx (0.01 becomes 2^-7 = 0.0078125), the grid starts at floor(s_min/dx)·dx, and the inner grid ends above the s of a pair at 0.75 times the closest training pair distance (8.15625 for the Ag-Au example; choose another distance with New-SijGrid -CoverDistance). The chosen dx and end are shown with -Verbose and in the model's Dx and Compression.Grid. Use -Layout Exact to get exactly the dx you typed, for example when you only evaluate the model with DpCompress.

DeePMD-kit se_e2_a models (read from .dp or .yaml) are compressed as DeePMD-kit's own dp compress does: quintic pieces from the net's value, first and second derivative at both knots; knots from lower = floor(min(-davg/dstd)) with stride -Dx (default 0.01) up to upper = ceil(max((w(r_min)/r_min - davg)/dstd)) over the radial and angular components, then stride 10*Dx up to Extrapolate*upper, with linear (C1) continuation beyond. r_min is DeePMD-kit's min_nbor_dist: taken from the model file when it holds one, else measured on -TrainingData, else given with -MinNeighborDistance; without any the command stops with MinNeighborDistanceMissing. The result carries DeePMD-kit's compress block; Export-DpModel writes it as a .dp or .yaml file that every DeePMD-kit backend loads. -Order 3 and -Grid do not apply to such models.

Type-embedding DP models (PWMLFF type_embedding) get one table per neighbour element, with shape [ntypes, rows, m, order+1] as PWMLFF writes it. Each table is the shared net evaluated with input [s, v(Z)], with exact derivatives along s through the (1+P)-input first layer and the correct step for every element. The accuracy is the same as for plain DP tables.

The nets are tabulated in parallel (-ThrottleLimit); the command reports progress and stops on Ctrl-C.
'@
    Parameters  = @{
        Model         = 'The model to compress, usually piped from Import-DpModel.'
        Dx            = 'The grid step in normalised s (the default is PWMLFF''s); smaller is more accurate, and the table grows as 1/dx.'
        Order         = 'The polynomial order: 3 (Hermite, PWMLFF''s default) or 5.'
        Grid          = 'A grid from New-SijGrid, to choose sij_max (from training data or by hand) or to reuse one grid. Its step replaces -Dx.'
        Layout        = 'Pwmlff (default for PWMLFF models): a grid PWMLFF''s runtime evaluates exactly (dyadic dx not above -Dx, aligned start, inner end above every pair distance met). Exact: a grid with exactly the -Dx typed, as PWMLFF compress lays it out. Not used for DeePMD-kit models (they follow dp compress). With -Grid the grid''s own layout is used.'
        Force         = 'Compresses a model that is already compressed again (from its original nets) instead of refusing.'
        MinNeighborDistance = 'DeePMD-kit models only: min_nbor_dist, the smallest interatomic distance of the training data (Angstrom); it sets the upper end of the table range. Overrides the value stored in the model file.'
        TrainingData  = 'DeePMD-kit models only: training configurations (Configuration objects or paths to PWdata, MOVEMENT or extxyz) scanned for min_nbor_dist.'
        Extrapolate   = 'DeePMD-kit models only: the table reaches Extrapolate times its upper end with the coarse stride (dp compress -e, default 5).'
        ThrottleLimit = 'The largest number of embedding nets tabulated at the same time. Default: the number of processors.'
    }
    Defaults    = @{ ThrottleLimit = 'the number of processors' }
    Inputs      = @{
        'DpCompress.Core.Model.DpModel' = 'A model, from Import-DpModel.'
    }
    Outputs     = @{
        'DpCompress.Core.Model.DpModel' = 'The compressed model: IsCompressed, Order, Dx, the table (Compression), TableError (largest |table - net| inside the training range) and OuterTableError (the whole table, extrapolation grid included).'
    }
    Examples    = @(
        @{
            Title   = 'Compress a type-embedding DP model (one table per neighbour element)'
            Code    = 'Import-DpModel ./tests/data/agau_te/dp_te_model.ckpt | Invoke-DpCompression -Dx 0.01 -Order 5 | Export-DpModel ./cmp_te.ckpt -PassThru'
            Remarks = 'The table has shape [2, rows, 25, 6] (Ag and Au neighbours); the compress block carries type_vector as PWMLFF lays it out.'
        }
        @{
            Title   = 'Compress a DeePMD-kit model as dp compress does and write it in DeePMD-kit''s format'
            Code    = 'Import-DpModel ./tests/data/deepmd/se_e2_a_agau.dp | Invoke-DpCompression -MinNeighborDistance 2.1721185693495006 | Export-DpModel ./model_compressed.dp -PassThru'
            Remarks = 'min_nbor_dist is the closest pair of atoms in the training data (here given by hand; -TrainingData measures it). The .dp file holds the descriptor at @version 3 with its compress block.'
        }
        @{
            Title   = 'Compress and save, as PWMLFF compress does'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpCompression -Dx 0.01 -Order 3 | Export-DpModel cmp_dp_model.ckpt'
            Remarks = 'Writes cmp_dp_model.ckpt, readable by PWMLFF.'
        }
        @{
            Title   = 'A more accurate table'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpCompression -Dx 0.001 -Order 3 | Export-DpModel cmp -Force'
            Remarks = 'A finer grid: with the default layout -Dx 0.001 becomes 2^-10 = 0.0009765625, eight times finer than the 2^-7 of -Dx 0.01, and the table error (TableError) falls about 8^4 = 4096 times, from 3.8e-10 to 9.2e-14 on Ag-Au (it scales as dx^4). Writes cmp.ckpt.'
        }
        @{
            Title   = 'Exactly the dx typed'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpCompression -Dx 0.01 -Layout Exact -Verbose'
            Remarks = 'Tabulates at dx 0.01 on PWMLFF''s own grid. Exact in DpCompress''s engines; PWMLFF''s runtime evaluates it with float32 interval starts (about 1e-6 eV/atom off on Ag-Au).'
        }
        @{
            Title   = 'Compare both orders'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
3, 5 | ForEach-Object { $model | Invoke-DpCompression -Order $_ -Verbose } | Format-Table
'@
            Remarks = 'Compresses at both orders with the default -Dx 0.01, which the default layout makes 2^-7 (the Table column shows o3 dx 0.0078125 and o5 dx 0.0078125), and shows the two compressed models side by side.'
        }
    )
    Links       = @('New-SijGrid', 'Export-DpModel', 'Test-CompressedModel', 'Import-DpModel')
}
