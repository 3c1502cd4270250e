# One suite that checks every exported cmdlet against the module's conventions (STYLE.md):
# declared output, approved verb, real help, -Path/-LiteralPath pairs, ShouldProcess on
# writers, unambiguous positions, named parameter-set constants, table views for output types.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    # Verbs whose cmdlets change the system and so must support -WhatIf/-Confirm. New-* is a
    # writer only when it creates an item (a file); New-SijGrid only computes an object.
    $writingVerbs = 'Export', 'Set', 'Remove', 'Out', 'Clear', 'Move', 'Rename', 'Write'
    $newItemWriters = @()
    $script:cmdlets = @(Get-Command -Module DpCompress -CommandType Cmdlet | Sort-Object Name | ForEach-Object {
            @{
                Name    = $_.Name
                Verb    = $_.Verb
                Writes  = $_.Verb -in $writingVerbs -or $_.Name -in $newItemWriters
                HasPath = $_.Parameters.ContainsKey('Path')
            }
        })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:approvedVerbs = (Get-Verb).Verb
    $script:common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Module conventions' {
    It 'exports cmdlets' {
        @(Get-Command -Module DpCompress -CommandType Cmdlet).Count | Should -BeGreaterThan 0
    }
    It 'exports every cmdlet the assembly defines' {
        $defined = [DpCompress.PowerShell.Commands.DpCmdlet].Assembly.GetTypes() |
            Where-Object { -not $_.IsAbstract -and $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } |
            ForEach-Object { $a = $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]; "$($a.VerbName)-$($a.NounName)" }
        $exported = (Get-Command -Module DpCompress -CommandType Cmdlet).Name
        $defined | Where-Object { $_ -notin $exported } | Should -BeNullOrEmpty -Because 'CmdletsToExport in DpCompress.psd1 must list every cmdlet'
    }
    It 'names parameter sets with constants, not repeated string literals' {
        $src = Join-Path $PSScriptRoot '../../src/DpCompress.PowerShell/Commands'
        if (-not (Test-Path $src)) { Set-ItResult -Skipped -Because 'the sources are not beside the tests'; return }
        $literals = Get-ChildItem $src -Filter *.cs | Select-String -Pattern '(ParameterSetName|DefaultParameterSetName)\s*=\s*"' |
            ForEach-Object { '{0}:{1}' -f $_.Filename, $_.LineNumber }
        $literals | Should -BeNullOrEmpty -Because 'parameter-set names belong in the ParameterSets constants'
    }
}

Describe '<Name>' -ForEach $cmdlets {
    BeforeAll {
        $script:cmd = Get-Command $Name
        $script:help = Get-Help $Name -Full
    }

    It 'declares [OutputType]' {
        @($cmd.OutputType).Count | Should -BeGreaterThan 0
    }

    It 'uses an approved verb' {
        $Verb | Should -BeIn $approvedVerbs
    }

    It 'derives from DpCmdlet (error ids, Ctrl-C, path resolution)' {
        $cmd.ImplementingType.IsSubclassOf([DpCompress.PowerShell.Commands.DpCmdlet]) | Should -BeTrue
    }

    It 'has a help synopsis and an example' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        # Without a help file, Get-Help makes the synopsis from the syntax ("Name [-Param] <type> ...").
        $help.Synopsis.Trim() | Should -Not -BeLike "$Name *"
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
    }

    # Checks that apply to some cmdlets only are defined only for them (no skipped noise).
    if ($HasPath) {
        It 'pairs -Path with -LiteralPath (aliases PSPath, LP) in another parameter set' {
            $cmd.Parameters.ContainsKey('LiteralPath') | Should -BeTrue
            $lp = $cmd.Parameters['LiteralPath']
            $lp.Aliases | Should -Contain 'PSPath'
            $lp.Aliases | Should -Contain 'LP'
            foreach ($set in $cmd.ParameterSets) {
                $names = $set.Parameters.Name
                ($names -contains 'Path' -and $names -contains 'LiteralPath') | Should -BeFalse -Because "set $($set.Name) must not take both"
            }
            if ($Verb -eq 'Import') {
                # Readers take FileInfo objects from Get-ChildItem by their PSPath property.
                @($lp.ParameterSets.Values | Where-Object ValueFromPipelineByPropertyName).Count | Should -BeGreaterThan 0
            }
        }
    }

    if ($Writes) {
        It 'supports ShouldProcess, and -Force to overwrite, because it writes' {
            $attr = $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attr.SupportsShouldProcess | Should -BeTrue
            $cmd.Parameters.ContainsKey('WhatIf') | Should -BeTrue
            $cmd.Parameters.ContainsKey('Force') | Should -BeTrue -Because 'writers refuse to overwrite without -Force'
        }
    }

    if ($Verb -eq 'Test') {
        It 'returns [bool] by default and the report with -Detailed (Test-* cmdlet)' {
            $cmd.OutputType.Type | Should -Contain ([bool])
            $cmd.Parameters.ContainsKey('Detailed') | Should -BeTrue
        }
    }

    It 'has unambiguous positions in every parameter set' {
        foreach ($set in $cmd.ParameterSets) {
            $positional = @($set.Parameters | Where-Object Position -GE 0 | Where-Object Name -NotIn $common)
            $dupes = $positional | Group-Object Position | Where-Object Count -GT 1
            $dupes | Should -BeNullOrEmpty -Because "set $($set.Name) must not give one position to two parameters"
            @($positional | Where-Object Position -EQ 0).Count | Should -BeLessOrEqual 1
        }
    }

    It 'has a table view for each output type it defines' {
        $own = @($cmd.OutputType.Type | Where-Object { $_ -and $_.Namespace -like 'DpCompress*' })
        foreach ($t in $own) {
            Get-FormatData -TypeName $t.FullName | Should -Not -BeNullOrEmpty -Because "$($t.FullName) needs a view in DpCompress.Format.ps1xml"
        }
    }
}
