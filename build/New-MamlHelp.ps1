<#
.SYNOPSIS
Generates the module's MAML help file (en-US/DpCompress.dll-Help.xml) from the cmdlets' metadata
and the hand-written text in src/DpCompress.PowerShell/Help/<Cmdlet-Name>.psd1.

.DESCRIPTION
There is no platyPS here, so the build writes MAML itself. The built module is imported in a
child `dotnet pwsh` (the build session never loads the dll). For every exported cmdlet:
- Get-Command gives the parameter sets, types, positions, mandatory flags, pipeline input,
  aliases, enum/ValidateSet values and [OutputType]; defaults are read from a fresh instance.
- Help/<Cmdlet-Name>.psd1 gives the words: Synopsis, Description, Parameters = @{ Name = 'text' },
  Examples = @(@{ Title; Code; Remarks }), and optionally Inputs/Outputs = @{ 'Type' = 'text' },
  Notes and Links (cmdlet names or URLs). See Help/README.md.
The build FAILS when an exported cmdlet has no .psd1, when a parameter (WhatIf and Confirm
excepted) is not described, or when Synopsis, Description or Examples are missing, so help
cannot rot. A .psd1 for a cmdlet the module does not export (yet) is skipped with a warning.

.EXAMPLE
dotnet pwsh ./build/New-MamlHelp.ps1 -ModuleDir ./out/DpCompress
#>
[CmdletBinding()]
param(
    # The published module folder (holds DpCompress.psd1).
    [string] $ModuleDir = (Join-Path $PSScriptRoot '../out/DpCompress'),
    # The folder of the hand-written <Cmdlet-Name>.psd1 files.
    [string] $SourceDir = (Join-Path $PSScriptRoot '../src/DpCompress.PowerShell/Help'),
    # The MAML file to write; default <ModuleDir>/en-US/DpCompress.dll-Help.xml.
    [string] $OutFile,
    # Internal: set for the child process that does the work.
    [switch] $InProcess
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$ModuleDir = [IO.Path]::GetFullPath($ModuleDir, $PWD.ProviderPath)
$SourceDir = [IO.Path]::GetFullPath($SourceDir, $PWD.ProviderPath)
if (-not $OutFile) { $OutFile = Join-Path $ModuleDir 'en-US/DpCompress.dll-Help.xml' }
$OutFile = [IO.Path]::GetFullPath($OutFile, $PWD.ProviderPath)

if (-not $InProcess) {
    # A child process imports the module, so this session never locks or caches the dll.
    # `dotnet pwsh` (the repository's local tool) resolves inside the repository only.
    Push-Location $PSScriptRoot
    try {
        dotnet pwsh -NoProfile -NonInteractive -File $PSCommandPath -ModuleDir $ModuleDir -SourceDir $SourceDir -OutFile $OutFile -InProcess
        $code = $LASTEXITCODE
    }
    finally { Pop-Location }
    if ($code -ne 0) { throw "Help generation failed (exit code $code); see the messages above." }
    return
}

$NsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$NsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$NsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$NsMsh = 'http://msh'

# Texts for the risk-mitigation parameters that every ShouldProcess cmdlet gets.
$StandardParameterText = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}
$Common = [System.Management.Automation.PSCmdlet]::CommonParameters
$OptionalCommon = [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function Test-Documented([string] $Name) {
    -not $Common.Contains($Name) -and ($Name -in 'WhatIf', 'Confirm' -or -not $OptionalCommon.Contains($Name))
}

function Get-Paragraphs([string] $Text) {
    # Blank lines separate paragraphs. Lines of a paragraph are joined, unless it is a list or
    # indented block (a line starting with '-', '*' or whitespace), which keeps its line breaks.
    if ([string]::IsNullOrWhiteSpace($Text)) { return @() }
    $blocks = ($Text.Trim() -replace "`r`n", "`n") -split "`n[ `t]*`n"
    foreach ($b in $blocks) {
        $lines = $b -split "`n"
        if (@($lines | Where-Object { $_ -match '^(\s+|[-*] )' }).Count -gt 0) { ($lines | ForEach-Object TrimEnd) -join "`n" }
        else { ($lines | ForEach-Object Trim) -join ' ' }
    }
}

function Write-Paragraphs([Xml.XmlWriter] $W, [string] $Text) {
    $W.WriteStartElement('maml', 'description', $NsMaml)
    foreach ($p in Get-Paragraphs $Text) { $W.WriteElementString('maml', 'para', $NsMaml, $p) }
    $W.WriteEndElement()
}

function Get-TypeName([type] $Type) {
    # Short names as Get-Help shows them (String[], Nullable enums by their enum name).
    $t = [Nullable]::GetUnderlyingType($Type) ?? $Type
    $t.Name
}

function Get-ValidValues([System.Management.Automation.ParameterMetadata] $Meta) {
    $t = [Nullable]::GetUnderlyingType($Meta.ParameterType) ?? $Meta.ParameterType
    if ($t.IsEnum) { return [Enum]::GetNames($t) }
    $set = $Meta.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | Select-Object -First 1
    if ($set) { return $set.ValidValues }
    @()
}

function Get-PipelineText($SetMetas) {
    $byValue = @($SetMetas | Where-Object ValueFromPipeline).Count -gt 0
    $byName = @($SetMetas | Where-Object ValueFromPipelineByPropertyName).Count -gt 0
    if ($byValue -and $byName) { 'True (ByValue, ByPropertyName)' }
    elseif ($byValue) { 'True (ByValue)' }
    elseif ($byName) { 'True (ByPropertyName)' }
    else { 'False' }
}

function Write-Parameter([Xml.XmlWriter] $W, [string] $Name, $Meta, $SetMetas, [string] $Text, [string] $Default, [bool] $InSyntax) {
    $mandatory = @($SetMetas | ForEach-Object IsMandatory | Select-Object -Unique)
    $positions = @($SetMetas | ForEach-Object Position | Select-Object -Unique)
    $isSwitch = $Meta.SwitchParameter
    $W.WriteStartElement('command', 'parameter', $NsCommand)
    $W.WriteAttributeString('required', $(if ($mandatory.Count -eq 1) { "$($mandatory[0])".ToLowerInvariant() } else { 'true (in some parameter sets)' }))
    $W.WriteAttributeString('variableLength', $(if ($Meta.ParameterType.IsArray) { 'true' } else { 'false' }))
    $globbing = @($Meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0
    $W.WriteAttributeString('globbing', "$globbing".ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', (Get-PipelineText $SetMetas))
    $pos = if ($positions.Count -eq 1 -and $positions[0] -ge 0) { "$($positions[0])" } elseif ($positions.Count -eq 1) { 'named' } else { ($positions | ForEach-Object { if ($_ -ge 0) { $_ } else { 'named' } }) -join ' or ' }
    $W.WriteAttributeString('position', $pos)
    $W.WriteAttributeString('aliases', $(if ($Meta.Aliases.Count) { $Meta.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('maml', 'name', $NsMaml, $Name)
    Write-Paragraphs $W $Text
    $valid = @(Get-ValidValues $Meta)
    if ($valid.Count -gt 0) {
        $W.WriteStartElement('command', 'parameterValueGroup', $NsCommand)
        foreach ($v in $valid) {
            $W.WriteStartElement('command', 'parameterValue', $NsCommand)
            $W.WriteAttributeString('required', 'false'); $W.WriteAttributeString('command', 'variableLength', $NsCommand, 'false')
            $W.WriteString($v); $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    if (-not $isSwitch) {
        $W.WriteStartElement('command', 'parameterValue', $NsCommand)
        $W.WriteAttributeString('required', $(if ($mandatory -contains $true) { 'true' } else { 'false' }))
        $W.WriteAttributeString('variableLength', $(if ($Meta.ParameterType.IsArray) { 'true' } else { 'false' }))
        $W.WriteString((Get-TypeName $Meta.ParameterType))
        $W.WriteEndElement()
    }
    if (-not $InSyntax) {
        $W.WriteStartElement('dev', 'type', $NsDev)
        $W.WriteElementString('maml', 'name', $NsMaml, $Meta.ParameterType.FullName)
        $W.WriteElementString('maml', 'uri', $NsMaml, '')
        $W.WriteEndElement()
        $W.WriteElementString('dev', 'defaultValue', $NsDev, $(if ($Default) { $Default } else { 'None' }))
    }
    $W.WriteEndElement()
}

function Get-DefaultValue([object] $Instance, [string] $Name) {
    if ($null -eq $Instance) { return $null }
    try { $v = $Instance.$Name } catch { return $null }
    if ($null -eq $v -or $v -is [System.Management.Automation.SwitchParameter]) { return $null }
    if ($v -is [string]) { return $(if ($v) { $v } else { $null }) }
    if ($v -is [array]) { return $(if ($v.Count) { $v -join ', ' } else { $null }) }
    if ($v -is [bool] -and -not $v) { return $null }
    [string]$v
}

Import-Module (Join-Path $ModuleDir 'DpCompress.psd1') -Force
$commands = @(Get-Command -Module DpCompress -CommandType Cmdlet | Sort-Object Name)
$sources = @{}
foreach ($f in Get-ChildItem $SourceDir -Filter '*.psd1' -ErrorAction SilentlyContinue) { $sources[$f.BaseName] = $f }
$problems = [Collections.Generic.List[string]]::new()

foreach ($name in $sources.Keys | Sort-Object) {
    if ($name -notin @($commands | ForEach-Object Name)) { Write-Warning "Help/$name.psd1: the module exports no cmdlet $name (yet); skipped." }
}
if ($commands.Count -eq 0) { Write-Warning 'The module exports no cmdlets (check CmdletsToExport in DpCompress.psd1).' }

$help = @{}
foreach ($cmd in $commands) {
    $file = $sources[$cmd.Name]
    if (-not $file) { $problems.Add("$($cmd.Name): no help file. Write $SourceDir/$($cmd.Name).psd1 (see Help/README.md)."); continue }
    try { $h = Import-PowerShellDataFile $file.FullName }
    catch { $problems.Add("$($cmd.Name): $($file.Name) is not a valid data file: $($_.Exception.Message)"); continue }
    foreach ($key in 'Synopsis', 'Description') {
        if (-not $h.ContainsKey($key) -or [string]::IsNullOrWhiteSpace($h[$key])) { $problems.Add("$($cmd.Name): $($file.Name) has no $key.") }
    }
    $examples = @($h['Examples'] | Where-Object { $_ })
    if ($examples.Count -eq 0) { $problems.Add("$($cmd.Name): $($file.Name) has no Examples.") }
    foreach ($ex in $examples) {
        if ($ex -isnot [hashtable] -or [string]::IsNullOrWhiteSpace($ex['Code']) -or [string]::IsNullOrWhiteSpace($ex['Title'])) {
            $problems.Add("$($cmd.Name): $($file.Name) has an example without Title or Code.")
        }
    }
    $texts = if ($h['Parameters'] -is [hashtable]) { $h['Parameters'] } else { @{} }
    foreach ($p in $cmd.Parameters.Keys | Where-Object { Test-Documented $_ }) {
        $given = $texts.Keys | Where-Object { $_ -eq $p }
        if (-not $given -and -not $StandardParameterText.ContainsKey($p)) { $problems.Add("$($cmd.Name): parameter -$p is not described in $($file.Name) (Parameters = @{ $p = '...' }).") }
    }
    foreach ($p in $texts.Keys) {
        if (-not $cmd.Parameters.ContainsKey($p)) { Write-Warning "$($file.Name): describes -$p, which $($cmd.Name) does not have." }
    }
    $help[$cmd.Name] = $h
}
if ($problems.Count -gt 0) {
    foreach ($p in $problems) { [Console]::Error.WriteLine("ERROR: $p") }
    [Console]::Error.WriteLine("Help generation failed: $($problems.Count) problem(s). Every exported cmdlet needs a complete Help/<Cmdlet-Name>.psd1.")
    exit 1
}

$settings = [Xml.XmlWriterSettings]@{ Indent = $true; IndentChars = '  '; Encoding = [Text.UTF8Encoding]::new($false) }
New-Item -ItemType Directory -Force (Split-Path $OutFile) | Out-Null
$temp = "$OutFile.tmp"
$w = [Xml.XmlWriter]::Create($temp, $settings)
try {
    $w.WriteStartDocument()
    $w.WriteStartElement('helpItems', $NsMsh)
    $w.WriteAttributeString('schema', 'maml')
    foreach ($cmd in $commands) {
        $h = $help[$cmd.Name]
        $texts = if ($h['Parameters'] -is [hashtable]) { $h['Parameters'] } else { @{} }
        $defaults = if ($h['Defaults'] -is [hashtable]) { $h['Defaults'] } else { @{} }
        $instance = try { [Activator]::CreateInstance($cmd.ImplementingType) } catch { $null }
        $documented = @($cmd.Parameters.Values | Where-Object { Test-Documented $_.Name })
        $textOf = { param($n) if ($texts.ContainsKey($n)) { $texts[$n] } else { $StandardParameterText[$n] } }
        $setsOf = {
            param($meta)
            # The per-set metadata of a parameter, restricted to the cmdlet's real sets.
            $meta.ParameterSets.GetEnumerator() | ForEach-Object Value
        }

        $w.WriteStartElement('command', 'command', $NsCommand)
        $w.WriteAttributeString('xmlns', 'maml', $null, $NsMaml)
        $w.WriteAttributeString('xmlns', 'dev', $null, $NsDev)
        $w.WriteStartElement('command', 'details', $NsCommand)
        $w.WriteElementString('command', 'name', $NsCommand, $cmd.Name)
        $w.WriteElementString('command', 'verb', $NsCommand, $cmd.Verb)
        $w.WriteElementString('command', 'noun', $NsCommand, $cmd.Noun)
        Write-Paragraphs $w $h.Synopsis
        $w.WriteEndElement()
        Write-Paragraphs $w $h.Description

        # Syntax: one item per parameter set; positional parameters first, by position.
        $w.WriteStartElement('command', 'syntax', $NsCommand)
        foreach ($set in $cmd.ParameterSets | Sort-Object { -not $_.IsDefault }, Name) {
            $w.WriteStartElement('command', 'syntaxItem', $NsCommand)
            $w.WriteElementString('maml', 'name', $NsMaml, $cmd.Name)
            $ps = @($set.Parameters | Where-Object { Test-Documented $_.Name })
            $ordered = @($ps | Where-Object Position -GE 0 | Sort-Object Position) + @($ps | Where-Object Position -LT 0)
            foreach ($p in $ordered) {
                $meta = $cmd.Parameters[$p.Name]
                $one = [pscustomobject]@{ IsMandatory = $p.IsMandatory; Position = $p.Position; ValueFromPipeline = $p.ValueFromPipeline; ValueFromPipelineByPropertyName = $p.ValueFromPipelineByPropertyName }
                Write-Parameter $w $p.Name $meta @($one) (& $textOf $p.Name) $null $true
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('command', 'parameters', $NsCommand)
        $declared = @($cmd.ImplementingType.GetProperties() | ForEach-Object Name)
        foreach ($meta in $documented | Sort-Object { $i = [array]::IndexOf($declared, $_.Name); if ($i -lt 0) { 1000 } else { $i } }) {
            $default = if ($defaults.ContainsKey($meta.Name)) { $defaults[$meta.Name] } else { Get-DefaultValue $instance $meta.Name }
            Write-Parameter $w $meta.Name $meta @(& $setsOf $meta) (& $textOf $meta.Name) $default $false
        }
        $w.WriteEndElement()

        # Inputs: the types of pipeline-bound parameters; outputs: [OutputType].
        $inputsText = if ($h['Inputs'] -is [hashtable]) { $h['Inputs'] } else { @{} }
        $w.WriteStartElement('command', 'inputTypes', $NsCommand)
        $piped = @($documented | Where-Object { (Get-PipelineText @(& $setsOf $_)) -ne 'False' })
        if ($piped.Count -eq 0) { $piped = @() }
        $byType = $piped | Group-Object { $_.ParameterType.FullName }
        if (-not $byType) {
            $w.WriteStartElement('command', 'inputType', $NsCommand)
            $w.WriteStartElement('dev', 'type', $NsDev); $w.WriteElementString('maml', 'name', $NsMaml, 'None'); $w.WriteEndElement()
            Write-Paragraphs $w "You can't pipe objects to $($cmd.Name)."
            $w.WriteEndElement()
        }
        foreach ($g in $byType) {
            $typeName = $g.Name
            $auto = ($g.Group | ForEach-Object { "-$($_.Name) ($((Get-PipelineText @(& $setsOf $_)) -replace '^True \((.*)\)$', '$1'))" }) -join ', '
            $text = $inputsText[$typeName] ?? $inputsText[($g.Group[0].ParameterType.Name)] ?? "Binds to $auto."
            $w.WriteStartElement('command', 'inputType', $NsCommand)
            $w.WriteStartElement('dev', 'type', $NsDev); $w.WriteElementString('maml', 'name', $NsMaml, $typeName); $w.WriteEndElement()
            Write-Paragraphs $w $text
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $outputsText = if ($h['Outputs'] -is [hashtable]) { $h['Outputs'] } else { @{} }
        $w.WriteStartElement('command', 'returnValues', $NsCommand)
        foreach ($o in $cmd.OutputType) {
            $short = ($o.Name -split '\.')[-1]
            $w.WriteStartElement('command', 'returnValue', $NsCommand)
            $w.WriteStartElement('dev', 'type', $NsDev); $w.WriteElementString('maml', 'name', $NsMaml, $o.Name); $w.WriteEndElement()
            Write-Paragraphs $w ($outputsText[$o.Name] ?? $outputsText[$short] ?? '')
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        if ($h['Notes']) {
            $w.WriteStartElement('maml', 'alertSet', $NsMaml)
            $w.WriteStartElement('maml', 'alert', $NsMaml)
            foreach ($p in Get-Paragraphs $h.Notes) { $w.WriteElementString('maml', 'para', $NsMaml, $p) }
            $w.WriteEndElement(); $w.WriteEndElement()
        }

        $w.WriteStartElement('command', 'examples', $NsCommand)
        $n = 0
        foreach ($ex in @($h.Examples)) {
            $n++
            $w.WriteStartElement('command', 'example', $NsCommand)
            $w.WriteElementString('maml', 'title', $NsMaml, "---- Example $($n): $($ex.Title) ----")
            $w.WriteElementString('dev', 'code', $NsDev, ($ex.Code.Trim() -replace "`r`n", "`n"))
            $w.WriteStartElement('dev', 'remarks', $NsDev)
            foreach ($p in Get-Paragraphs $ex['Remarks']) { $w.WriteElementString('maml', 'para', $NsMaml, $p) }
            $w.WriteElementString('maml', 'para', $NsMaml, '')   # a blank line before the next example
            $w.WriteEndElement()
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('command', 'relatedLinks', $NsCommand)
        foreach ($link in @($h['Links'] | Where-Object { $_ })) {
            $w.WriteStartElement('maml', 'navigationLink', $NsMaml)
            if ($link -match '^https?://') { $w.WriteElementString('maml', 'linkText', $NsMaml, 'Online'); $w.WriteElementString('maml', 'uri', $NsMaml, $link) }
            else { $w.WriteElementString('maml', 'linkText', $NsMaml, $link); $w.WriteElementString('maml', 'uri', $NsMaml, '') }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteEndElement() # command:command
    }
    $w.WriteEndElement()
    $w.WriteEndDocument()
}
finally { $w.Dispose() }
[xml](Get-Content -Raw $temp) | Out-Null   # well-formed, or the build stops here
Move-Item $temp $OutFile -Force
# Conceptual topics (Get-Help about_DpCompress) are plain text files, copied beside the MAML.
foreach ($about in Get-ChildItem $SourceDir -Filter 'about_*.help.txt' -ErrorAction SilentlyContinue) {
    Copy-Item $about.FullName (Split-Path $OutFile) -Force
}
Write-Host ("Help: {0} cmdlet(s) -> {1}" -f $commands.Count, $OutFile)
