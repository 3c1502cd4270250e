# The MAML help that build/New-MamlHelp.ps1 generates: complete for every cmdlet, and the
# examples of the cmdlets users start with actually run (on the data in tests/data).
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:cmdlets = @(Get-Command -Module DpCompress -CommandType Cmdlet | Sort-Object Name | ForEach-Object { @{ Name = $_.Name } })

    # Cmdlets whose examples are executed. Each example runs in its own folder under $TestDrive,
    # with ./tests/data/ pointing at the repository's test data.
    $runnable = 'Import-DpModel', 'Export-DpModel', 'Invoke-DpCompression', 'New-SijGrid', 'Import-DpConfiguration', 'Invoke-DpModel', 'Test-CompressedModel', 'Measure-DpInference', 'Measure-DpConvergence', 'Export-DpChart'
    $script:examples = @(foreach ($name in $runnable) {
        if (-not (Get-Command $name -Module DpCompress -ErrorAction SilentlyContinue)) { continue }
        $i = 0
        foreach ($ex in @((Get-Help $name -Examples).Examples.Example)) {
            $i++
            @{ Name = $name; Number = $i; Title = ($ex.title -replace '^-+\s*|\s*-+$', ''); Code = $ex.code }
        }
    })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:documentedCommon = 'WhatIf', 'Confirm'
    $script:common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Help file' {
    It 'is generated next to the module as well-formed MAML' {
        $file = Join-Path (Get-Module DpCompress).ModuleBase 'en-US/DpCompress.dll-Help.xml'
        Test-Path $file | Should -BeTrue
        $xml = [xml](Get-Content -Raw $file)
        $xml.helpItems.schema | Should -Be 'maml'
        @($xml.helpItems.command).Count | Should -Be @(Get-Command -Module DpCompress -CommandType Cmdlet).Count
    }
}

Describe 'about_DpCompress' {
    It 'is shown by Get-Help and names every exported cmdlet' {
        $text = Get-Help about_DpCompress | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        foreach ($c in Get-Command -Module DpCompress -CommandType Cmdlet) { $text | Should -Match ([regex]::Escape($c.Name)) }
    }
}

Describe 'build/New-MamlHelp.ps1' {
    BeforeAll {
        $script:repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
        $script:generator = Join-Path $repo 'build/New-MamlHelp.ps1'
        $script:helpSource = Join-Path $repo 'src/DpCompress.PowerShell/Help'
        $script:moduleDir = (Get-Module DpCompress).ModuleBase
        # Runs the generator's worker in a child pwsh (as the build does) on a copy of the help sources.
        function Invoke-Generator([string] $Case, [scriptblock] $Change) {
            $src = New-Item -ItemType Directory -Force -Path (Join-Path $TestDrive $Case)
            Copy-Item (Join-Path $helpSource '*.psd1') $src
            & $Change $src.FullName
            $out = Join-Path $TestDrive "$Case.xml"
            Push-Location $repo   # `dotnet pwsh` resolves the local tool inside the repository
            try { $text = dotnet pwsh -NoProfile -NonInteractive -File $generator -ModuleDir $moduleDir -SourceDir $src.FullName -OutFile $out -InProcess 2>&1 | Out-String }
            finally { Pop-Location }
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Text = $text; OutFile = $out }
        }
    }

    It 'fails, naming the cmdlet, when an exported cmdlet has no help file' {
        $r = Invoke-Generator 'nofile' { param($d) Remove-Item (Join-Path $d 'Export-DpChart.psd1') }
        $r.ExitCode | Should -Not -Be 0
        $r.Text | Should -Match 'Export-DpChart: no help file'
        Test-Path $r.OutFile | Should -BeFalse
    }

    It 'fails, naming the parameter, when a parameter is not described' {
        $r = Invoke-Generator 'noparam' {
            param($d)
            $f = Join-Path $d 'Export-DpChart.psd1'
            (Get-Content $f) | Where-Object { $_ -notmatch '^\s*Width\s*=' } | Set-Content $f
        }
        $r.ExitCode | Should -Not -Be 0
        $r.Text | Should -Match 'parameter -Width is not described'
    }

    It 'warns about and skips help for a cmdlet the module does not have' {
        $r = Invoke-Generator 'extra' {
            param($d)
            Set-Content (Join-Path $d 'Get-DpNothing.psd1') "@{ Synopsis = 'x'; Description = 'y'; Examples = @(@{ Title = 't'; Code = 'Get-DpNothing' }) }"
        }
        $r.ExitCode | Should -Be 0
        $r.Text | Should -Match 'Get-DpNothing'
        @(([xml](Get-Content -Raw $r.OutFile)).helpItems.command).Count | Should -Be @(Get-Command -Module DpCompress -CommandType Cmdlet).Count
    }
}

Describe 'Help of <Name>' -ForEach $cmdlets {
    BeforeAll {
        $script:cmd = Get-Command $Name
        $script:help = Get-Help $Name -Full
    }

    It 'has a written synopsis, not the one Get-Help makes from the syntax' {
        $help.Synopsis.Trim() | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -BeLike "$Name *"
        $help.Synopsis.Trim() | Should -Not -Match '\[-\w+\]|<\w+>'
    }

    It 'has a description' {
        ($help.Description.Text -join "`n").Trim().Length | Should -BeGreaterThan 40
    }

    It 'describes every parameter' {
        $names = $cmd.Parameters.Keys | Where-Object { $_ -notin $common -or $_ -in $documentedCommon }
        foreach ($p in $names) {
            $entry = $help.Parameters.Parameter | Where-Object Name -EQ $p
            $entry | Should -Not -BeNullOrEmpty -Because "-$p must be in the help"
            ($entry.Description.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }

    It 'shows the syntax of every parameter set' {
        @($help.Syntax.SyntaxItem).Count | Should -Be @($cmd.ParameterSets).Count
    }

    It 'has at least one example with code and remarks' {
        $ex = @($help.Examples.Example)
        $ex.Count | Should -BeGreaterThan 0
        foreach ($e in $ex) {
            $e.Code | Should -Not -BeNullOrEmpty
            $e.Code | Should -Match ([regex]::Escape($Name)) -Because 'an example shows the cmdlet itself'
            ($e.Remarks.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'uses only parameters that exist in its examples (for every DpCompress cmdlet they call)' {
        foreach ($e in @($help.Examples.Example)) {
            $tokens = $null; $parseErrors = $null
            $ast = [System.Management.Automation.Language.Parser]::ParseInput($e.Code, [ref] $tokens, [ref] $parseErrors)
            $parseErrors | Should -BeNullOrEmpty -Because "example '$($e.Title)' must parse"
            foreach ($call in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true)) {
                $target = Get-Command $call.GetCommandName() -Module DpCompress -ErrorAction SilentlyContinue
                if (-not $target) { continue }
                $names = @($target.Parameters.Values | ForEach-Object { $_.Name; $_.Aliases })
                foreach ($p in $call.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] }) {
                    # PowerShell accepts any unambiguous prefix of a name or alias.
                    $hits = @($names | Where-Object { $_ -like "$($p.ParameterName)*" })
                    ($hits -contains $p.ParameterName -or $hits.Count -eq 1) | Should -BeTrue -Because "$($target.Name) in example '$($e.Title)' uses -$($p.ParameterName)"
                }
            }
        }
    }

    It 'describes its output types' {
        $outputs = @($help.ReturnValues.ReturnValue.Type.Name)
        foreach ($t in $cmd.OutputType) { $outputs | Should -Contain $t.Name }
    }
}

Describe 'Examples run' {
    It '<Name> example <Number>: <Title>' -ForEach $examples {
        # Skip examples that use cmdlets the module does not have yet.
        $tokens = $null; $parseErrors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $tokens, [ref] $parseErrors)
        $parseErrors | Should -BeNullOrEmpty
        $used = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true) |
            ForEach-Object { $_.GetCommandName() } | Where-Object { $_ -like '*-Dp*' -or $_ -like '*-SijGrid' -or $_ -like '*-CompressedModel' } | Select-Object -Unique
        $missing = @($used | Where-Object { -not (Get-Command $_ -Module DpCompress -ErrorAction SilentlyContinue) })
        if ($missing.Count -gt 0) { Set-ItResult -Skipped -Because "it uses $($missing -join ', '), not in the module yet"; return }

        $data = (Get-TestDataPath '') -replace '[\\/]$', ''
        $script = $Code -replace '\./tests/data(?=/)', $data
        $dir = New-Item -ItemType Directory -Force -Path (Join-Path $TestDrive "$Name-$Number")
        Push-Location $dir
        try {
            $ErrorActionPreference = 'Stop'
            $null = & ([scriptblock]::Create($script)) 3>&1 4>&1 5>&1 6>&1
        }
        finally { Pop-Location }
    }
}
