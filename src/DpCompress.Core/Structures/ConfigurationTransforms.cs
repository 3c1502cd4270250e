namespace DpCompress.Core.Structures;

/// <summary>
/// New configurations made from an existing one: supercells and rigid transformations
/// (for invariance tests: a DP energy is invariant under translation, rotation and
/// permutation of atoms; forces rotate and permute with the atoms, the virial rotates as
/// W' = R W Rᵀ).
/// </summary>
public static class ConfigurationTransforms
{
    /// <summary>
    /// The n1 × n2 × n3 supercell: cell rows n1·a, n2·b, n3·c; atoms in replica-major order
    /// (replica (i1, i2, i3) with i3 fastest, then the original atoms), r = r_j + i1·a + i2·b + i3·c.
    /// Extensive labels are scaled: energy × n1n2n3, virial × n1n2n3; forces and atomic
    /// energies are repeated.
    /// </summary>
    public static Configuration Supercell(Configuration c, int n1, int n2, int n3)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (n1 < 1 || n2 < 1 || n3 < 1)
            throw new DpCompressException("InvalidSupercell", ErrorKind.InvalidArgument, $"Supercell factors must be at least 1 (got {n1} × {n2} × {n3}).");
        long reps = (long)n1 * n2 * n3;
        if (reps * c.AtomCount > 10_000_000)
            throw new DpCompressException("InvalidSupercell", ErrorKind.InvalidArgument, $"A {n1} × {n2} × {n3} supercell of {c.AtomCount} atoms is too large.");
        int n = c.AtomCount;
        double[] h = c.Cell;
        var cell = new double[9];
        int[] f = { n1, n2, n3 };
        for (int a = 0; a < 3; a++)
            for (int k = 0; k < 3; k++) cell[3 * a + k] = f[a] * h[3 * a + k];

        int total = (int)reps * n;
        var pos = new double[3 * total];
        var z = new int[total];
        double[]? forces = c.Forces is null ? null : new double[3 * total];
        double[]? ei = c.AtomicEnergies is null ? null : new double[total];
        int p = 0;
        for (int i1 = 0; i1 < n1; i1++)
            for (int i2 = 0; i2 < n2; i2++)
                for (int i3 = 0; i3 < n3; i3++)
                {
                    for (int k = 0; k < 3; k++)
                    {
                        double shift = i1 * h[k] + i2 * h[3 + k] + i3 * h[6 + k];
                        for (int j = 0; j < n; j++) pos[3 * (p + j) + k] = c.Positions[3 * j + k] + shift;
                    }
                    Array.Copy(c.AtomicNumbers, 0, z, p, n);
                    if (forces is not null) Array.Copy(c.Forces!, 0, forces, 3 * p, 3 * n);
                    if (ei is not null) Array.Copy(c.AtomicEnergies!, 0, ei, p, n);
                    p += n;
                }
        return new Configuration(cell, pos, z)
        {
            Energy = c.Energy * reps,
            Forces = forces,
            Virial = c.Virial?.Select(v => v * reps).ToArray(),
            AtomicEnergies = ei,
            Source = c.Source,
            Index = c.Index,
            Name = $"{c.Name ?? c.Formula}_{n1}x{n2}x{n3}",
        };
    }

    /// <summary>Every atom moved by (dx, dy, dz) Å; cell and labels unchanged.</summary>
    public static Configuration Translate(Configuration c, double dx, double dy, double dz)
    {
        ArgumentNullException.ThrowIfNull(c);
        var pos = (double[])c.Positions.Clone();
        for (int i = 0; i < c.AtomCount; i++)
        {
            pos[3 * i] += dx;
            pos[3 * i + 1] += dy;
            pos[3 * i + 2] += dz;
        }
        return Copy(c, (double[])c.Cell.Clone(), pos, (int[])c.AtomicNumbers.Clone(), CloneOrNull(c.Forces), CloneOrNull(c.Virial), CloneOrNull(c.AtomicEnergies));
    }

    /// <summary>
    /// Rigid rotation by the 3 × 3 matrix <paramref name="rotation"/> (row-major, orthogonal):
    /// every vector v (positions, lattice rows, forces) becomes R·v; the virial becomes R·W·Rᵀ.
    /// </summary>
    /// <param name="c">The configuration.</param>
    /// <param name="rotation">[3, 3] row-major; must be orthogonal (RᵀR = I within 1e-9).</param>
    public static Configuration Rotate(Configuration c, double[] rotation)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(rotation);
        if (rotation.Length != 9)
            throw new DpCompressException("InvalidRotation", ErrorKind.InvalidArgument, "A rotation needs 9 values (3 × 3 row-major).");
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
            {
                double s = 0;
                for (int k = 0; k < 3; k++) s += rotation[3 * k + a] * rotation[3 * k + b];
                if (Math.Abs(s - (a == b ? 1 : 0)) > 1e-9)
                    throw new DpCompressException("InvalidRotation", ErrorKind.InvalidArgument, "The rotation matrix is not orthogonal (RᵀR ≠ I).");
            }
        double[] RotVectors(double[] v)
        {
            var o = new double[v.Length];
            for (int i = 0; i < v.Length / 3; i++)
                for (int a = 0; a < 3; a++)
                    o[3 * i + a] = rotation[3 * a] * v[3 * i] + rotation[3 * a + 1] * v[3 * i + 1] + rotation[3 * a + 2] * v[3 * i + 2];
            return o;
        }
        double[]? virial = null;
        if (c.Virial is { Length: 9 } w)
        {
            virial = new double[9];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                {
                    double s = 0;
                    for (int k = 0; k < 3; k++)
                        for (int l = 0; l < 3; l++) s += rotation[3 * a + k] * w[3 * k + l] * rotation[3 * b + l];
                    virial[3 * a + b] = s;
                }
        }
        return Copy(c, RotVectors(c.Cell), RotVectors(c.Positions), (int[])c.AtomicNumbers.Clone(),
            c.Forces is null ? null : RotVectors(c.Forces), virial, CloneOrNull(c.AtomicEnergies));
    }

    /// <summary>Rotation matrix (row-major) for angle <paramref name="radians"/> about <paramref name="axis"/> (Rodrigues).</summary>
    public static double[] RotationMatrix(double[] axis, double radians)
    {
        ArgumentNullException.ThrowIfNull(axis);
        double len = Math.Sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
        if (axis.Length != 3 || !(len > 0))
            throw new DpCompressException("InvalidRotation", ErrorKind.InvalidArgument, "The rotation axis must be a non-zero 3-vector.");
        double x = axis[0] / len, y = axis[1] / len, z = axis[2] / len;
        double cs = Math.Cos(radians), sn = Math.Sin(radians), t = 1 - cs;
        return new[]
        {
            t * x * x + cs, t * x * y - sn * z, t * x * z + sn * y,
            t * x * y + sn * z, t * y * y + cs, t * y * z - sn * x,
            t * x * z - sn * y, t * y * z + sn * x, t * z * z + cs,
        };
    }

    /// <summary>Reorders the atoms: new atom k is old atom <paramref name="order"/>[k] (a permutation of 0..N−1).</summary>
    public static Configuration Permute(Configuration c, int[] order)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(order);
        int n = c.AtomCount;
        if (order.Length != n || order.Any(o => o < 0 || o >= n) || order.Distinct().Count() != n)
            throw new DpCompressException("InvalidPermutation", ErrorKind.InvalidArgument, $"The order must be a permutation of 0..{n - 1}.");
        var pos = new double[3 * n];
        var z = new int[n];
        double[]? forces = c.Forces is null ? null : new double[3 * n];
        double[]? ei = c.AtomicEnergies is null ? null : new double[n];
        for (int k = 0; k < n; k++)
        {
            int o = order[k];
            Array.Copy(c.Positions, 3 * o, pos, 3 * k, 3);
            z[k] = c.AtomicNumbers[o];
            if (forces is not null) Array.Copy(c.Forces!, 3 * o, forces, 3 * k, 3);
            if (ei is not null) ei[k] = c.AtomicEnergies![o];
        }
        return Copy(c, (double[])c.Cell.Clone(), pos, z, forces, CloneOrNull(c.Virial), ei);
    }

    /// <summary>Positions wrapped into the cell (fractional coordinates in [0, 1)); everything else unchanged.</summary>
    public static Configuration Wrap(Configuration c)
    {
        ArgumentNullException.ThrowIfNull(c);
        double[] frac = CartesianToFractional(c);
        for (int q = 0; q < frac.Length; q++)
        {
            double w = frac[q] - Math.Floor(frac[q]);
            frac[q] = w >= 1.0 ? 0.0 : w;
        }
        var pos = PwDataReader.FractionalToCartesian(frac, c.Cell);
        return Copy(c, (double[])c.Cell.Clone(), pos, (int[])c.AtomicNumbers.Clone(), CloneOrNull(c.Forces), CloneOrNull(c.Virial), CloneOrNull(c.AtomicEnergies));
    }

    /// <summary>Fractional coordinates f = r·H⁻¹ [N, 3] (H rows = lattice vectors); DegenerateCell for a singular cell.</summary>
    public static double[] CartesianToFractional(Configuration c)
    {
        ArgumentNullException.ThrowIfNull(c);
        double[] h = c.Cell;
        // Rows of H⁻ᵀ: (b×c, c×a, a×b) / V.
        double[] rc =
        {
            h[4] * h[8] - h[5] * h[7], h[5] * h[6] - h[3] * h[8], h[3] * h[7] - h[4] * h[6],
            h[7] * h[2] - h[8] * h[1], h[8] * h[0] - h[6] * h[2], h[6] * h[1] - h[7] * h[0],
            h[1] * h[5] - h[2] * h[4], h[2] * h[3] - h[0] * h[5], h[0] * h[4] - h[1] * h[3],
        };
        double vol = h[0] * rc[0] + h[1] * rc[1] + h[2] * rc[2];
        if (!double.IsFinite(vol) || Math.Abs(vol) < 1e-12)
            throw new DpCompressException("DegenerateCell", ErrorKind.InvalidData, $"{c}: the cell is degenerate (volume {vol}).", c.Source);
        var f = new double[c.Positions.Length];
        for (int i = 0; i < c.AtomCount; i++)
            for (int a = 0; a < 3; a++)
                f[3 * i + a] = (c.Positions[3 * i] * rc[3 * a] + c.Positions[3 * i + 1] * rc[3 * a + 1] + c.Positions[3 * i + 2] * rc[3 * a + 2]) / vol;
        return f;
    }

    private static double[]? CloneOrNull(double[]? a) => a is null ? null : (double[])a.Clone();

    private static Configuration Copy(Configuration c, double[] cell, double[] pos, int[] z, double[]? forces, double[]? virial, double[]? ei) =>
        new(cell, pos, z)
        {
            Energy = c.Energy,
            Forces = forces,
            Virial = virial,
            AtomicEnergies = ei,
            Source = c.Source,
            Index = c.Index,
            Name = c.Name,
        };
}
