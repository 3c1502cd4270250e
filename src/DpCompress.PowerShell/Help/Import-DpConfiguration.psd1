@{
    Synopsis    = 'Reads atomic configurations (PWMLFF PWdata, PWmat MOVEMENT, extended XYZ) for inference and checks.'
    Description = @'
Import-DpConfiguration reads structures with their cell, positions and atomic numbers, and the DFT labels (energy, forces, virial, atomic energies) when the file has them. The format is detected from the content:

- a PWdata folder (position.npy, lattice.npy, image_type.npy, ...), or a parent folder of such folders (every system below it is read; folder links are followed, each folder is read once);
- a PWmat MOVEMENT file;
- an extended XYZ file (Lattice="..." Properties=species:S:1:pos:R:3...).

A frame's declared atom count is checked before anything is allocated for it: more atoms than the file has room for (8 bytes per atom line) is ConfigurationAtomCountBeyondFile, more than 10,000,000 atoms (a PWdata image_type.npy too) ConfigurationTooManyAtoms, and a MOVEMENT or extended XYZ line longer than 1,048,576 characters ConfigurationLineTooLong (all LimitsExceeded). Any other problem with a file is an error with an id (ConfigurationCorrupt, ConfigurationUnexpectedError for what no check anticipated).

It returns one Configuration per image, in file order, with Source, Name and Index set so you can tell where each came from. A file that cannot be read is a non-terminating error with its own error id, and the other files are still read.

What is read but might not be what you meant is reported as a warning (one per file; collect them with -WarningVariable), and what cannot be read consistently is refused:

- extended XYZ atom lines with more columns than Properties declares: accepted with a warning, the extra columns are ignored (undeclared forces are the usual cause: declare them with forces:R:3);
- element symbols not in their usual case ("ag", "AU"): accepted with a warning naming each symbol and the element it was read as;
- a MOVEMENT frame without its Force block: accepted with a warning naming the frames; they carry no DFT forces (energy and virial are kept);
- a PWdata folder whose atom_type.npy lists other elements than image_type.npy holds: refused with PwDataTypeMismatch, since which atoms the labels belong to cannot be known;
- a number that is not finite (NaN, Infinity) in a position, lattice, energy, force, virial or atomic energy of any format: refused with ConfigurationCorrupt naming the line, or the .npy file and image;
- a MOVEMENT atom block with more atom lines than its frame header declares, or a block given twice in one frame: refused with ConfigurationCorrupt;
- an extended XYZ key given twice with different values (two Lattice=), a column declared twice (pos and positions, force and forces), species and Z columns naming different elements, or a pbc of other than one or three flags: refused with ConfigurationCorrupt; a pbc with F in it is ConfigurationNotPeriodic;
- a .npy header nested deeper than 16 levels or a shape of more than 64 dimensions: refused with ConfigurationCorrupt (NpyCorrupt inside).

The other cmdlets that read paths (Invoke-DpModel, Test-CompressedModel, Measure-DpInference, New-SijGrid) give the same warnings and errors.
'@
    Parameters  = @{
        Path        = 'One or more files or folders. Wildcard characters are expanded.'
        LiteralPath = 'One or more files or folders, used exactly as typed. FileInfo and DirectoryInfo objects from Get-ChildItem bind here by their PSPath property.'
        Format      = 'Reads every path as this format (PwData, Movement or ExtendedXyz) instead of detecting it from the name and content. PwData reads a folder (or the folder of a .npy file), Movement and ExtendedXyz a file; a path of the other kind is ConfigurationFormatUnknown.'
    }
    Defaults    = @{ Format = 'detected from the file' }
    Inputs      = @{
        'System.String[]' = 'Paths (to -Path by value, or to -LiteralPath by the PSPath property).'
    }
    Outputs     = @{
        'DpCompress.Core.Structures.Configuration' = 'One configuration per image.'
    }
    Examples    = @(
        @{
            Title   = 'All 160 Ag-Au training configurations'
            Code    = '$data = Import-DpConfiguration ./tests/data/agau/PWdata; $data.Count'
            Remarks = 'Reads every system folder below PWdata.'
        }
        @{
            Title   = 'Other formats'
            Code    = 'Import-DpConfiguration ./tests/data/formats/Au32_first10.xyz, ./tests/data/formats/Au32_first10.MOVEMENT | Group-Object Source'
            Remarks = 'Reads the same ten Au32 images from an extended XYZ and a MOVEMENT file.'
        }
        @{
            Title   = 'Force the format of a file without a telling name'
            Code    = 'Import-DpConfiguration -LiteralPath ./tests/data/formats/pwmat_CH4_MOVEMENT -Format Movement | Select-Object -First 3'
            Remarks = 'Reads a PWmat MOVEMENT file of methane as MOVEMENT, whatever its name, and shows the first three images.'
        }
        @{
            Title   = 'Predict with a model'
            Code    = 'Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14 | Invoke-DpModel -Model (Import-DpModel ./tests/data/agau/dp_model.ckpt)'
            Remarks = 'Energies, forces and virials of the five Ag10Au14 images.'
        }
    )
    Links       = @('Invoke-DpModel', 'Test-CompressedModel', 'Measure-DpInference')
}
