# Seeded mutation fuzzing of the readers (issue 14), a short run: tests/Fuzz/Fuzzer.cs mutates the
# shipped checkpoints and configuration files (byte flips, truncations, size/shape edits, stride-0
# views, deep nesting, opcode floods, long strings and integers, huge dicts, atom counts, long lines)
# and reads each. `build.ps1 Fuzz` runs thousands of cases with a 5 s bound per case; here a case is
# only allowed 30 s (a watchdog for hangs such as the 137 s quadratic dict, not a speed test).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    Import-Module (Join-Path $PSScriptRoot '../Fuzz/Fuzz.psm1') -Force
    $work = Join-Path $TestDrive 'fuzz'
    $script:Results = @(Invoke-DpFuzz -Cases 400 -Seed 14 -DataDir (Get-TestDataPath '') -WorkDir $work -TimeLimitSeconds 30)
    $script:Summary = (Format-DpFuzzSummary $Results) -join "`n"
}

Describe 'Reader fuzzing (400 seeded cases)' {
    It 'runs every case' {
        $Results.Count | Should -Be 400
    }

    It 'raises no raw .NET exception' {
        @($Results | Where-Object Outcome -EQ 'Raw' | ForEach-Object ToString) | Should -BeNullOrEmpty
    }

    It 'has no hang' {
        @($Results | Where-Object Outcome -EQ 'Hang' | ForEach-Object ToString) | Should -BeNullOrEmpty
    }

    It 'allocates at most 2x what the unmutated file needs (scaled by file size)' {
        @($Results | Where-Object Outcome -EQ 'Memory' | ForEach-Object ToString) | Should -BeNullOrEmpty
        @($Results | Where-Object { $_.Allocated -gt $_.AllocationBound }) | Should -BeNullOrEmpty
    }

    It 'imports no raw mutation with different numbers (the CRC or a check catches each)' {
        @($Results | Where-Object Outcome -EQ 'Different' | ForEach-Object ToString) | Should -BeNullOrEmpty
    }

    It 'exercises every mutation class and ends mostly in errors with ids' {
        $classes = @($Results | ForEach-Object Mutation | Sort-Object -Unique)
        foreach ($c in 'raw-bitflip', 'raw-truncate', 'pkl-size-shape-edit', 'pkl-stride0', 'pkl-deep-nesting', 'pkl-opcode-flood',
            'pkl-long-string', 'pkl-long-integer', 'pkl-huge-dict', 'text-atom-count', 'text-long-line') {
            $classes | Should -Contain $c
        }
        @($Results | Where-Object Outcome -EQ 'Error').Count | Should -BeGreaterThan 200
        @($Results | Where-Object Outcome -EQ 'Unchanged').Count | Should -BeGreaterThan 10
        $ids = @($Results | Where-Object Outcome -EQ 'Error' | ForEach-Object Detail | Sort-Object -Unique)
        foreach ($id in 'CheckpointCorrupt', 'CheckpointPickleStackTooDeep', 'CheckpointNestingTooDeep', 'ConfigurationAtomCountBeyondFile') {
            $ids | Should -Contain $id
        }
    }
}
