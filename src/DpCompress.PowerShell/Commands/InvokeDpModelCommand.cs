using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Inference;
using DpCompress.Core.Model;
using DpCompress.Core.Structures;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Runs a model (original or compressed) on configurations and returns energies, atomic
/// energies, forces and virials.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "DpModel")]
[OutputType(typeof(Prediction))]
public sealed class InvokeDpModelCommand : DpCmdlet
{
    private IDpEngine? _engine;
    private bool _ownsEngine;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public DpModel Model { get; set; } = null!;

    /// <summary>Configurations (from Import-DpConfiguration, or paths to read).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public object[] Configuration { get; set; } = Array.Empty<object>();

    /// <summary>Fast (default): float64 kernels with analytic gradients. Reference: TorchSharp autograd, mirrors PWMLFF.</summary>
    [Parameter]
    public EngineKind Engine { get; set; } = EngineKind.Fast;

    /// <summary>Threads of the fast engine (default: all cores).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

    protected override void BeginProcessing()
    {
        try
        {
            // Fast: the engine shared per model, so repeated calls (one per MD step) skip its set-up.
            _ownsEngine = Engine != EngineKind.Fast;
            _engine = _ownsEngine ? EngineFactory.Create(Model, Engine, ThrottleLimit) : EngineFactory.SharedFast(Model, ThrottleLimit);
        }
        catch (DpCompressException e)
        {
            ThrowDpError(e);
        }
    }

    protected override void ProcessRecord()
    {
        foreach (Configuration c in ResolveConfigurations(Configuration))
        {
            if (Stopping) return;
            try
            {
                WriteObject(_engine!.Evaluate(c, null, null, CancelToken));
            }
            catch (DpCompressException e)
            {
                WriteDpError(e, c);
            }
            catch (OperationCanceledException)
            {
                throw new PipelineStoppedException();
            }
        }
    }

    protected override void EndProcessing()
    {
        if (_ownsEngine) _engine?.Dispose();
    }
}
