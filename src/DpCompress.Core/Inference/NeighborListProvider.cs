using DpCompress.Core.Model;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Inference;

/// <summary>Builds the neighbour list an engine needs when the caller passes none.</summary>
internal static class NeighborListProvider
{
    // TEMPORARY until DpCompress.Core.Neighbors.NeighborSearch is merged.
    public static NeighborList Build(Configuration configuration, DpModel model) =>
        throw new DpCompressException("NeighborSearchUnavailable", ErrorKind.NotImplemented,
            "Neighbour search is not available in this build; pass a neighbour list.");
}
