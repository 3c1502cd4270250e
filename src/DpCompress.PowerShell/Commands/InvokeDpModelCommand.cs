using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Compression;
using DpCompress.Core.Inference;
using DpCompress.Core.Model;
using DpCompress.Core.Structures;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Runs a model (original or compressed) on configurations and returns energies, atomic
/// energies, forces and virials. Either the configurations or the model(s) come from the
/// pipeline: a piped DpModel binds to -Model by type (<c>Import-DpModel m.ckpt | Invoke-DpModel
/// -Configuration $c</c>), anything else to -Configuration.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "DpModel")]
[OutputType(typeof(Prediction))]
public sealed class InvokeDpModelCommand : DpCmdlet
{
    private IDpEngine? _engine;
    private bool _ownsEngine;
    private DpModel? _engineModel;
    private object[]? _resolvedFrom;
    private List<Configuration>? _resolved;

    /// <summary>The model; from the pipeline when it is a DpModel.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public DpModel Model { get; set; } = null!;

    /// <summary>Configurations (from Import-DpConfiguration, or paths to read).</summary>
    [SupportsWildcards]
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public object[] Configuration { get; set; } = Array.Empty<object>();

    /// <summary>Fast (default): float64 kernels with analytic gradients. Reference: TorchSharp autograd, mirrors PWMLFF.</summary>
    [Parameter]
    public EngineKind Engine { get; set; } = EngineKind.Fast;

    /// <summary>Compressed models: DpCompress (default) evaluates the table exactly; Pwmlff computes what PWMLFF's runtime
    /// and LAMMPS compute with the same file (its float32 interval starts and broken outer branch included).</summary>
    [Parameter]
    public TableRuntime Runtime { get; set; } = TableRuntime.DpCompress;

    /// <summary>Threads of the fast engine (default: all cores).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

    protected override void ProcessRecord()
    {
        // One engine per model: a piped model replaces the previous one's engine.
        if (!ReferenceEquals(Model, _engineModel))
        {
            if (_ownsEngine) _engine?.Dispose();
            _engine = null;
            _engineModel = Model;
            try
            {
                if (Runtime == TableRuntime.Pwmlff && Model.Flavour == ModelFlavour.DeepMdSeE2A)
                    throw new DpCompressException("RuntimeNotApplicable", ErrorKind.InvalidArgument,
                        "-Runtime Pwmlff emulates PWMLFF's runtime lookup, which reads PWMLFF checkpoints; this is a DeePMD-kit model.", Model.SourcePath);
                // Fast: the engine shared per model, so repeated calls (one per MD step) skip its set-up.
                _ownsEngine = Engine != EngineKind.Fast;
                _engine = _ownsEngine ? EngineFactory.Create(Model, Engine, ThrottleLimit, Runtime) : EngineFactory.SharedFast(Model, ThrottleLimit, Runtime);
            }
            catch (DpCompressException e)
            {
                WriteDpError(e, Model.SourcePath);
                return;
            }
        }
        if (_engine is null) return;
        // Configurations bound once on the command line are read once, whatever number of models is piped.
        if (!ReferenceEquals(Configuration, _resolvedFrom))
        {
            _resolved = ResolveConfigurations(Configuration);
            _resolvedFrom = Configuration;
        }
        foreach (Configuration c in _resolved!)
        {
            if (Stopping) return;
            try
            {
                WriteObject(_engine.Evaluate(c, null, null, CancelToken));
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
