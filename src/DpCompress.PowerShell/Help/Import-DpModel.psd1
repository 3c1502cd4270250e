@{
    Synopsis    = 'Reads PWMLFF Deep Potential checkpoints (dp_model.ckpt) and DeePMD-kit se_e2_a models (.dp, .yaml), compressed or not, into DpModel objects.'
    Description = @'
Import-DpModel reads a checkpoint written by PWMLFF (torch.save of a dict with json_file, state_dict, davg, dstd, energy_shift, atom_type_order and sij_max) without Python, and returns one typed DpModel per file: its atom types, cutoffs, embedding and fitting nets, normalisation statistics and, for a compressed checkpoint (key "compress"), the polynomial table with its order and grid step.

Files ending in .dp (HDF5) or .yaml/.yml are read as DeePMD-kit v3 serialized models (what DeePMD-kit's save_dp_model and dp convert-backend write). Only se_e2_a energy models are accepted; other descriptors (se_atten, se_e2_r, se_e3, dpa1/2/3, hybrid), spin models, models with fparam/aparam and model-level atom/pair exclusions are refused (the descriptor's exclude_types and type_one_side are supported) with an error id that names what was found (DeepMdDescriptorNotSupported, DeepMdModelNotSupported, ...). The model's Flavour property tells PWMLFF DP from DeePMD-kit se_e2_a, and its Conventions property holds DeePMD-kit's environment rules (sel, nearest-first truncation, energy bias) that the engines follow.

PWMLFF type-embedding DP models (json_file.model.descriptor.type_embedding) are read as well: one embedding net shared by all element pairs, fed with [s, v(Z)], where v(Z) is the property vector of the neighbour's element. The vectors are computed from PWMLFF's element table, which ships inside the module, and are bit-identical to PWMLFF's. Flavour is PwmlffTypeEmbedding, the Flavour column of the default view lists the properties (TE:Z,radius,mass,eaffin,pauling), and the TypeEmbedding property holds the properties, the type vectors and the shared net. A property name that is not in the table is TypeEmbeddingUnknownProperty; a model element whose property is NaN or missing is TypeEmbeddingPropertyMissing, and the message names the element and the property; a first layer whose width is not 1 + the number of properties is TypeEmbeddingInputMismatch.

Each file that cannot be read (missing, not a zip/pickle, not a DP model, such as a NEP checkpoint) is reported as a non-terminating error with its own error id (for example CheckpointNotFound or NotDpModel), and the remaining files are still read.

Damaged, broken and hostile files are refused, never imported with wrong numbers. Every zip record's CRC-32 is checked (CheckpointCorrupt names the record). Reading is bounded, each limit with its own id (category LimitsExceeded), far above what a real checkpoint needs: one record at most 2 GiB (CheckpointTooLarge); deflated records expand to at most 16 times the file size plus 64 MiB (CheckpointExpansionTooLarge); at most 1,000,000 values on the pickle stack (CheckpointPickleStackTooDeep) and memo entries (CheckpointPickleMemoTooLarge); integers of at most 64 bytes (CheckpointIntegerTooLong); lists, tuples and dicts of at most 100,000 items (CheckpointContainerTooLarge); containers nested at most 1,000 deep (CheckpointNestingTooDeep); and what the read builds at most 1 MiB + 4 times data.pkl + the storage bytes (CheckpointMemoryBudgetExceeded). Tensor views with zero, negative or overlapping strides are CheckpointTensorViewInvalid. The model's meaning is checked too: every layer needs its bias and, on skip layers of nets built with it, its resnet_dt (CheckpointMissingKey); every weight, davg, dstd, energy_shift and table value must be finite (CheckpointInvalidValue, naming the tensor); a compress block must agree with itself: sij_min below s_max, sij_len and sij_out_len as dx gives them, sij_max in the last inner interval (CheckpointShapeMismatch). A .dp file's HDF5 structure is walked before it is read: the superblock, every object header reachable from the root group, every header message field, the group B-trees, link names and the global heap must lie inside the bytes that hold them, without loops, the checksums of version 2 object headers and version 3 superblocks (files Export-DpModel writes) must match, and what cannot be verified (including HDF5 features DeePMD-kit does not write: dense storage, chunked datasets, shared messages, soft and external links) is DeepMdFileCorrupt. In a .yaml model, aliases that would expand the tree by more than 1,000,000 nodes beyond those in the file (an alias bomb, which a writer would otherwise expand in full) are DeepMdTreeTooLarge. The arrays a .dp file's json names may hold together no more bytes than the file (DeepMdArrayTooLarge). Error messages quote at most a short excerpt of text from the file.

Pipe file names or FileInfo objects (Get-ChildItem *.ckpt | Import-DpModel); a FileInfo binds to -LiteralPath by its PSPath property.
'@
    Parameters  = @{
        Path        = 'One or more checkpoint or DeePMD-kit model files. Wildcard characters are expanded (./models/*.ckpt).'
        LiteralPath = 'One or more checkpoint files, used exactly as typed: no wildcard expansion. FileInfo objects from Get-ChildItem bind here by their PSPath property.'
    }
    Inputs      = @{
        'System.String[]' = 'File names (to -Path by value, or to -LiteralPath by the PSPath property, as FileInfo objects carry it).'
    }
    Outputs     = @{
        'DpCompress.Core.Model.DpModel' = 'One model per checkpoint read.'
    }
    Examples    = @(
        @{
            Title   = 'Read the Ag-Au model'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt'
            Remarks = 'Returns the model; the default table view shows its types, cutoffs, net sizes and whether it is compressed.'
        }
        @{
            Title   = 'Compress a model read from disk and save it'
            Code    = 'Import-DpModel ./tests/data/agau/dp_model.ckpt | Invoke-DpCompression -Dx 0.01 -Order 3 | Export-DpModel cmp_dp_model.ckpt -PassThru'
            Remarks = 'The typical pipeline: read, compress with third-order (Hermite) polynomials on a grid of step 0.01, and write a PWMLFF-compatible compressed checkpoint.'
        }
        @{
            Title   = 'Read a type-embedding DP model and look at its type vectors'
            Code    = 'Import-DpModel ./tests/data/agau_te/dp_te_model.ckpt | ForEach-Object { $_.TypeEmbedding.Properties; $_.TypeEmbedding.TypeVectors }'
            Remarks = 'Lists the property names (atomic_number, atom_radius, atom_mass, electron_affin, pauling) and the vectors of Ag and Au, exactly as PWMLFF computes them.'
        }
        @{
            Title   = 'Read a DeePMD-kit model (.dp or .yaml)'
            Code    = 'Import-DpModel ./tests/data/deepmd/se_e2_a_agau.dp | Select-Object Flavour, AtomTypes, Rmax, Conventions'
            Remarks = 'Reads the HDF5 file that DeePMD-kit wrote; the .yaml twin gives the same model.'
        }
        @{
            Title   = 'Read every checkpoint of a folder, including the compressed one'
            Code    = 'Get-ChildItem ./tests/data/agau -Filter *.ckpt | Import-DpModel -ErrorAction SilentlyContinue -ErrorVariable bad | Format-List'
            Remarks = 'FileInfo objects bind to -LiteralPath. The NEP checkpoint in that folder is not a DP model: it lands in $bad as an error, the two DP checkpoints are read.'
        }
    )
    Links       = @('Export-DpModel', 'Invoke-DpCompression', 'Test-CompressedModel')
}
