using DpCompress.Core.Model;
using DpCompress.Core.Serialization.DeepMd;

namespace DpCompress.Core.Serialization;

/// <summary>Reads a model file of any supported format, chosen by extension: DeePMD-kit .dp/.yaml/.yml, else a PWMLFF checkpoint.</summary>
public static class ModelFiles
{
    /// <summary>Reads <paramref name="path"/> with the reader its extension names.</summary>
    public static DpModel Read(string path) =>
        DeepMdDocument.IsDeepMdPath(path) ? DeepMdModelReader.Read(path) : CheckpointReader.Read(path);
}
