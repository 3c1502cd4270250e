@{
    Synopsis    = 'Writes a DpModel as a PWMLFF-compatible checkpoint (by default cmp_dp_model.ckpt for a compressed model, dp_model.ckpt for an uncompressed one).'
    Description = @'
Export-DpModel writes the model with every key of the original checkpoint; a compressed model also gets the "compress" entry PWMLFF writes (table, dx, order, davg, dstd, sij_min, sij_max, sij_out_max), so PWMLFF and torch.load read the file as one of their own.

DeePMD-kit models (Flavour DeepMdSeE2A, read from .dp or .yaml) are written in DeePMD-kit's own format, chosen by the extension: .dp (HDF5: one dataset variable_NNNN per array in depth-first order and the root attribute "json" holding the tree) or .yaml/.yml (yaml.safe_dump layout). Every part of the model tree is written back as read; a model compressed by Invoke-DpCompression carries DeePMD-kit's compress block (descriptor @version 3, compress_data and compress_info) and the top-level min_nbor_dist, which every DeePMD-kit backend loads. Their default names are model_compressed.dp and model.dp, and ".dp" is appended to a name without a DeePMD-kit extension. Writing a DeePMD-kit model to .ckpt, or a PWMLFF model to .dp/.yaml, stops with ExportFormatMismatch.

For PWMLFF models, ".ckpt" is appended to a file name without it. The cmdlet behaves like Export-Csv: it refuses to overwrite an existing file unless -Force is given (error id ExportFileExists), supports -WhatIf and -Confirm, writes to a temporary file and renames it (a failure never leaves a half-written checkpoint), and returns the written file with -PassThru. Temporary files of the same target that a killed export left behind (".<name>.<32 hex digits>.tmp", unchanged for 10 minutes and not open in another process) are removed. A path that names a folder (an existing directory, or one ending in a separator) is refused with ExportPathIsDirectory, and a path with a NUL character with ExportPathInvalid.
'@
    Parameters  = @{
        Model       = 'The model to write, usually piped from Invoke-DpCompression or Import-DpModel.'
        Path        = 'The checkpoint file to write; ".ckpt" is appended when missing. Default, in the current directory and as PWMLFF names them: cmp_dp_model.ckpt for a compressed model, dp_model.ckpt for an uncompressed one (an existing file is kept unless -Force is given).'
        LiteralPath = 'The checkpoint file to write, used exactly as typed (brackets and other wildcard characters are not interpreted); ".ckpt" is appended when missing.'
        Force       = 'Overwrites an existing file.'
        PassThru    = 'Returns the written file as a FileInfo object. By default the cmdlet writes nothing to the pipeline.'
    }
    Defaults    = @{ Path = 'cmp_dp_model.ckpt (compressed) or dp_model.ckpt (uncompressed)' }
    Inputs      = @{
        'DpCompress.Core.Model.DpModel' = 'A model, from Import-DpModel or Invoke-DpCompression.'
    }
    Outputs     = @{
        'System.IO.FileInfo' = 'With -PassThru, the written checkpoint.'
    }
    Examples    = @(
        @{
            Title   = 'Write a compressed DeePMD-kit model as .dp and as .yaml'
            Code    = '$c = Import-DpModel ./tests/data/deepmd/se_e2_a_agau_compressed.dp; $c | Export-DpModel ./copy.dp; $c | Export-DpModel ./copy.yaml'
            Remarks = 'Both files hold the same tree as DeePMD-kit''s own compressed file; Import-DpModel reads either back.'
        }
        @{
            Title   = 'Compress and write under PWMLFF''s default name'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpCompression -Dx 0.01 -Order 3 | Export-DpModel'
            Remarks = 'Writes cmp_dp_model.ckpt in the current directory.'
        }
        @{
            Title   = 'Choose the name, overwrite, and get the file back'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$file = $model | Invoke-DpCompression -Dx 0.001 -Order 5 | Export-DpModel cmp_o5 -Force -PassThru
'{0}: {1:N1} MiB' -f $file.Name, ($file.Length / 1MB)
'@
            Remarks = 'Writes cmp_o5.ckpt (the extension is added), replacing an older file of that name, and prints its size.'
        }
        @{
            Title   = 'See what would be written'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | Export-DpModel -LiteralPath ''copy [1].ckpt'' -WhatIf'
            Remarks = 'Reports the target without writing it. -LiteralPath keeps the brackets of the name.'
        }
    )
    Links       = @('Import-DpModel', 'Invoke-DpCompression')
}
