@{
    RootModule           = 'DpCompress.dll'
    RequiredAssemblies   = @('DpCompress.Core.dll')
    ModuleVersion        = '0.1.0'
    GUID                 = '6f7b3c52-2f1e-4a57-9d51-3c8f0d7b9a11'
    Author               = 'DpCompress developers'
    CompanyName          = 'DpCompress'
    Copyright            = '(c) DpCompress developers. MIT licence.'
    Description          = 'Compresses PWMLFF Deep Potential (DP) force fields into piecewise polynomial tables and proves the compressed model predicts what the original predicts.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('DpCompress.Format.ps1xml')
    TypesToProcess       = @('DpCompress.Types.ps1xml')
    CmdletsToExport      = @('Import-DpModel', 'Export-DpModel', 'New-SijGrid', 'Invoke-DpCompression', 'Import-DpConfiguration', 'Invoke-DpModel', 'Test-CompressedModel', 'Measure-DpInference', 'Measure-DpConvergence', 'Export-DpChart')
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{ PSData = @{ Tags = @('DeepPotential', 'PWMLFF', 'MachineLearning', 'ForceField', 'Compression') } }
}
