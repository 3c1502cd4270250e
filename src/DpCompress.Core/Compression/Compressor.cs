using DpCompress.Core.Inference.Fast;
using DpCompress.Core.Model;

namespace DpCompress.Core.Compression;

/// <summary>Progress of <see cref="Compressor.Compress(DpModel, double, int, SijGrid?, IProgress{CompressionProgress}?, CancellationToken, int, bool, long)"/>: reported once per finished net.</summary>
/// <param name="NetsDone">Nets finished so far.</param>
/// <param name="NetCount">Nets in total.</param>
/// <param name="Net">Index of the net that just finished (t_i·ntypes + t_j).</param>
public sealed record CompressionProgress(int NetsDone, int NetCount, int Net)
{
    /// <summary>0–100.</summary>
    public int PercentComplete => NetCount == 0 ? 100 : (int)(100L * NetsDone / NetCount);
}

/// <summary>
/// Replaces every embedding net by piecewise polynomials on an <see cref="SijGrid"/> (SPEC §3).
/// </summary>
/// <remarks>
/// <para>For every interval [x_l, x_{l+1}) (inner and outer), with Δt = x_{l+1} − x_l (nodes
/// from their index, <see cref="SijGrid.Node"/>), h = y_{l+1} − y_l and y, y′, y″ exact
/// (<see cref="EmbeddingNetEvaluator"/>), in descending powers of x = s − x_l:</para>
/// <para>Order 3 (Hermite): a = [(y′_{l+1} + y′_l)Δt − 2h]/Δt³, b = [−(y′_{l+1} + 2y′_l)Δt + 3h]/Δt²,
/// c = y′_l, d = y_l.</para>
/// <para>Order 5: a = [12h − 6(y′_{l+1} + y′_l)Δt + (y″_{l+1} − y″_l)Δt²]/(2Δt⁵),
/// b = [−30h + (14y′_{l+1} + 16y′_l)Δt + (−2y″_{l+1} + 3y″_l)Δt²]/(2Δt⁴),
/// c = [20h − (8y′_{l+1} + 12y′_l)Δt + (y″_{l+1} − 3y″_l)Δt²]/(2Δt³), d = y″_l/2, e = y′_l, f = y_l.</para>
/// <para>Every net gets its own Δt from the grid: nothing is carried from one net to the next
/// (PWMLFF multiplies its step by 10 for the outer region and never resets it, corrupting
/// every net after the first).</para>
/// </remarks>
public static class Compressor
{
    /// <summary>Default dense points per interval for the accuracy measurement.</summary>
    public const int DefaultAccuracyPoints = 5;

    /// <summary>Compresses the embedding nets of <paramref name="model"/> (<see cref="DpModel.TableNets"/>: ntypes² nets for
    /// plain DP, ntypes effective nets — one per neighbour element — for type-embedding DP).</summary>
    /// <param name="model">An uncompressed or compressed model (its nets are used).</param>
    /// <param name="dx">Inner grid step; must equal <paramref name="grid"/>'s step when a grid is given.</param>
    /// <param name="order">3 or 5.</param>
    /// <param name="grid">The grid, or null to build it from the checkpoint's sij_max (<see cref="GridBuilder.Build(DpModel, double, int, SijMaxSource, double?, long)"/>).</param>
    /// <param name="progress">Receives one report per finished net (from worker threads).</param>
    /// <param name="cancellationToken">Cancels the work (OperationCanceledException).</param>
    /// <param name="maxDegreeOfParallelism">Worker count; −1 = all cores, 1 = run on the calling thread.</param>
    /// <param name="measureAccuracy">Measure <see cref="NetAccuracy"/> per net (dense points inside every interval).</param>
    /// <param name="maxTableBytes">Memory guard (TableTooLarge).</param>
    /// <returns>The table; attach it with <see cref="DpModel.WithCompression"/>.</returns>
    public static CompressionTable Compress(DpModel model, double dx, int order, SijGrid? grid = null,
        IProgress<CompressionProgress>? progress = null, CancellationToken cancellationToken = default,
        int maxDegreeOfParallelism = -1, bool measureAccuracy = true, long maxTableBytes = GridBuilder.DefaultMaxTableBytes)
    {
        ArgumentNullException.ThrowIfNull(model);
        GridBuilder.ValidateDx(dx);
        ValidateOrder(order);
        if (grid is null)
            grid = GridBuilder.Build(model, dx, order, SijMaxSource.Checkpoint, null, maxTableBytes);
        else if (grid.Dx != dx)
            throw new DpCompressException("GridDxMismatch", ErrorKind.InvalidArgument,
                $"dx {dx} differs from the grid's step {grid.Dx}.");
        return Compress(model.TableNets, model.TypeCount, grid, order, progress, cancellationToken,
            maxDegreeOfParallelism, measureAccuracy ? DefaultAccuracyPoints : 0, maxTableBytes);
    }

    /// <summary>Compresses a list of embedding nets (all of width m, input width 1) on <paramref name="grid"/>.</summary>
    /// <param name="nets">[nnets] nets, index t_i·ntypes + t_j (plain DP) or t_j (type-embedding DP, nnets = ntypes).</param>
    /// <param name="typeCount">ntypes, used only to label <see cref="NetAccuracy"/> (centre = net / ntypes when nnets = ntypes², else −1).</param>
    /// <param name="grid">Grid.</param>
    /// <param name="order">3 or 5.</param>
    /// <param name="progress">One report per finished net.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <param name="maxDegreeOfParallelism">−1 = all cores, 1 = calling thread only.</param>
    /// <param name="accuracyPoints">Dense points per interval for the accuracy measurement (0 = skip),
    /// at x_l + Δt·j/(P+1), j = 1..P (the midpoint is included when P is odd).</param>
    /// <param name="maxTableBytes">Memory guard.</param>
    public static CompressionTable Compress(IReadOnlyList<EmbeddingNet> nets, int typeCount, SijGrid grid, int order,
        IProgress<CompressionProgress>? progress = null, CancellationToken cancellationToken = default,
        int maxDegreeOfParallelism = -1, int accuracyPoints = DefaultAccuracyPoints, long maxTableBytes = GridBuilder.DefaultMaxTableBytes)
    {
        ArgumentNullException.ThrowIfNull(nets);
        ArgumentNullException.ThrowIfNull(grid);
        ValidateOrder(order);
        if (nets.Count == 0)
            throw new DpCompressException("NoEmbeddingNets", ErrorKind.InvalidArgument, "There are no embedding nets to compress.");
        int m = nets[0].OutputWidth;
        foreach (var net in nets)
        {
            if (net.OutputWidth != m)
                throw new DpCompressException("EmbeddingWidthMismatch", ErrorKind.InvalidData, "All embedding nets must have the same output width.");
            if (net.InputWidth != 1)
                throw new DpCompressException("TypeEmbeddingNotSupported", ErrorKind.NotImplemented,
                    $"Embedding nets with {net.InputWidth} inputs (type-embedding DP) are not supported by this compressor.");
        }
        if (accuracyPoints < 0) throw new DpCompressException("InvalidAccuracyPoints", ErrorKind.InvalidArgument, "accuracyPoints must be ≥ 0.");
        if (maxDegreeOfParallelism == 0 || maxDegreeOfParallelism < -1)
            throw new DpCompressException("InvalidParallelism", ErrorKind.InvalidArgument, "maxDegreeOfParallelism must be −1 or ≥ 1.");
        GridBuilder.EnsureTableFits(grid.Rows, nets.Count, m, order, maxTableBytes);
        cancellationToken.ThrowIfCancellationRequested();

        int rows = grid.Rows;
        int nnodes = rows + 1;
        var nodes = new double[nnodes];
        for (int k = 0; k < nnodes; k++) nodes[k] = grid.Node(k);
        var coefficients = HugePages.ZeroedDoubles((long)nets.Count * rows * m * (order + 1));
        var accuracy = new NetAccuracy[nets.Count];
        int done = 0;
        // y, y′, y″ buffers [nnodes, m] (3 MB each at dx 0.001) serve one net after another: fresh ones per net
        // would map new memory every time, and first writes to fresh memory are what the first table of a process pays for.
        var scratch = new System.Collections.Concurrent.ConcurrentBag<NetWork.Buffers>();

        void One(int k)
        {
            var work = new NetWork(nets[k], scratch.TryTake(out var buffers) ? buffers : new NetWork.Buffers(nnodes * m, order));
            long offset = (long)k * rows * m * (order + 1);
            var table = coefficients.AsSpan().Slice((int)offset, rows * m * (order + 1));
            BuildNet(work, nodes, order, table, cancellationToken);
            (double Value, double Derivative, double InnerValue, double InnerDerivative, double Scale) acc = accuracyPoints > 0
                ? Measure(work, nodes, grid.InnerIntervals, order, table, accuracyPoints, cancellationToken)
                : (double.NaN, double.NaN, double.NaN, double.NaN, MaxAbs(work.Y));
            int tc = Math.Max(1, typeCount);
            bool pairNets = nets.Count == tc * tc;   // plain DP: net (t_i, t_j); type-embedding DP: one net per neighbour type t_j
            accuracy[k] = new NetAccuracy(k, pairNets ? k / tc : -1, k % tc, acc.Value, acc.Derivative, acc.Scale)
            {
                InnerMaxValueError = acc.InnerValue,
                InnerMaxDerivativeError = acc.InnerDerivative,
            };
            scratch.Add(work.Scratch);
            int d = Interlocked.Increment(ref done);
            progress?.Report(new CompressionProgress(d, nets.Count, k));
        }

        if (maxDegreeOfParallelism == 1)
        {
            for (int k = 0; k < nets.Count; k++) One(k);
        }
        else
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = cancellationToken };
            try
            {
                Parallel.For(0, nets.Count, options, One);
            }
            catch (AggregateException ae) when (ae.InnerExceptions.All(e => e is OperationCanceledException))
            {
                throw new OperationCanceledException("Compression was cancelled.", ae, cancellationToken);
            }
            catch (AggregateException ae) when (ae.InnerExceptions.Count == 1 && ae.InnerException is DpCompressException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ae.InnerException).Throw();
                throw;
            }
        }
        return new CompressionTable(grid, order, nets.Count, m, coefficients, accuracy);
    }

    /// <summary>Throws InvalidOrder unless order is 3 or 5.</summary>
    public static void ValidateOrder(int order)
    {
        if (order != 3 && order != 5)
            throw new DpCompressException("InvalidOrder", ErrorKind.InvalidArgument, $"Order must be 3 or 5 (got {order}).");
    }

    /// <summary>Per-net work: the net's evaluator and y, y′, y″ at every node, [nnodes, m] (every element written by <see cref="BuildNet"/>).</summary>
    private sealed class NetWork
    {
        /// <summary>y, y′ and (order 5) y″ buffers, reusable from one net to the next.</summary>
        public sealed record Buffers(double[] Y, double[] D1, double[] D2)
        {
            public Buffers(int length, int order) : this(new double[length], new double[length], order == 5 ? new double[length] : []) { }
        }

        public NetWork(EmbeddingNet net, Buffers scratch)
        {
            Evaluator = new EmbeddingNetEvaluator(net);
            Scratch = scratch;
        }

        public EmbeddingNetEvaluator Evaluator { get; }
        public Buffers Scratch { get; }
        public double[] Y => Scratch.Y;
        public double[] D1 => Scratch.D1;
        public double[] D2 => Scratch.D2;
    }

    private const int NodeChunk = 1024;

    /// <summary>Fills one net's coefficients [rows, m, order+1].</summary>
    private static void BuildNet(NetWork w, double[] nodes, int order, Span<double> table, CancellationToken ct)
    {
        int nnodes = nodes.Length, m = w.Evaluator.Width;
        for (int start = 0; start < nnodes; start += NodeChunk)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(NodeChunk, nnodes - start);
            w.Evaluator.Evaluate(nodes.AsSpan(start, count), w.Y.AsSpan(start * m, count * m), w.D1.AsSpan(start * m, count * m),
                order == 5 ? w.D2.AsSpan(start * m, count * m) : default);
        }
        int rows = nnodes - 1, nc = order + 1;
        double[] y = w.Y, d1 = w.D1, d2 = w.D2;
        for (int l = 0; l < rows; l++)
        {
            double dt = nodes[l + 1] - nodes[l];
            int a = l * m, b = (l + 1) * m;
            var row = table.Slice(l * m * nc, m * nc);
            if (order == 3)
            {
                // 1/Δt³ · (…) as PWMLFF writes it: one reciprocal per row instead of a division per output.
                double dt2 = dt * dt, dt3 = dt2 * dt, r2 = 1 / dt2, r3 = 1 / dt3;
                for (int o = 0; o < m; o++)
                {
                    double y0 = y[a + o], y1 = y[b + o], p0 = d1[a + o], p1 = d1[b + o], h = y1 - y0;
                    var c = row.Slice(o * 4, 4);
                    c[0] = r3 * ((p1 + p0) * dt - 2 * h);
                    c[1] = r2 * (-(p1 + 2 * p0) * dt + 3 * h);
                    c[2] = p0;
                    c[3] = y0;
                }
            }
            else
            {
                double dt2 = dt * dt, dt3 = dt2 * dt, dt4 = dt3 * dt, dt5 = dt4 * dt;
                double r3 = 1 / (2 * dt3), r4 = 1 / (2 * dt4), r5 = 1 / (2 * dt5);
                for (int o = 0; o < m; o++)
                {
                    double y0 = y[a + o], y1 = y[b + o], p0 = d1[a + o], p1 = d1[b + o], q0 = d2[a + o], q1 = d2[b + o], h = y1 - y0;
                    var c = row.Slice(o * 6, 6);
                    c[0] = r5 * (12 * h - 6 * (p1 + p0) * dt + (q1 - q0) * dt2);
                    c[1] = r4 * (-30 * h + (14 * p1 + 16 * p0) * dt + (-2 * q1 + 3 * q0) * dt2);
                    c[2] = r3 * (20 * h - (8 * p1 + 12 * p0) * dt + (q1 - 3 * q0) * dt2);
                    c[3] = q0 / 2;
                    c[4] = p0;
                    c[5] = y0;
                }
            }
        }
    }

    /// <summary>
    /// Max |g − y| and |g′ − y′| over P points strictly inside every interval (inner and outer),
    /// the same over the inner intervals only, and the output scale max |y| over the nodes.
    /// </summary>
    private static (double Value, double Derivative, double InnerValue, double InnerDerivative, double Scale) Measure(
        NetWork w, double[] nodes, int innerIntervals, int order, ReadOnlySpan<double> table, int points, CancellationToken ct)
    {
        int m = w.Evaluator.Width, rows = nodes.Length - 1, nc = order + 1;
        int intervalsPerChunk = Math.Max(1, NodeChunk / points);
        int chunkPoints = intervalsPerChunk * points;
        var s = new double[chunkPoints];
        var local = new double[chunkPoints];
        var rowOf = new int[chunkPoints];
        var y = new double[chunkPoints * m];
        var dy = new double[chunkPoints * m];
        double maxV = 0, maxD = 0, innerV = 0, innerD = 0;
        for (int l0 = 0; l0 < rows; l0 += intervalsPerChunk)
        {
            ct.ThrowIfCancellationRequested();
            int n = 0;
            for (int l = l0; l < Math.Min(rows, l0 + intervalsPerChunk); l++)
            {
                double xl = nodes[l], dt = nodes[l + 1] - xl;
                for (int j = 1; j <= points; j++)
                {
                    double sv = xl + dt * j / (points + 1);
                    s[n] = sv;
                    local[n] = sv - xl;
                    rowOf[n] = l;
                    n++;
                }
            }
            w.Evaluator.Evaluate(s.AsSpan(0, n), y.AsSpan(0, n * m), dy.AsSpan(0, n * m), default);
            for (int p = 0; p < n; p++)
            {
                double x = local[p];
                bool inner = rowOf[p] < innerIntervals;
                var row = table.Slice(rowOf[p] * m * nc, m * nc);
                for (int o = 0; o < m; o++)
                {
                    var c = row.Slice(o * nc, nc);
                    double v = c[0], d = 0;
                    for (int k = 1; k < nc; k++)
                    {
                        d = d * x + v;
                        v = v * x + c[k];
                    }
                    double ev = Math.Abs(v - y[p * m + o]), ed = Math.Abs(d - dy[p * m + o]);
                    if (!(ev <= maxV)) maxV = ev;   // NaN propagates
                    if (!(ed <= maxD)) maxD = ed;
                    if (inner)
                    {
                        if (!(ev <= innerV)) innerV = ev;
                        if (!(ed <= innerD)) innerD = ed;
                    }
                }
            }
        }
        return (maxV, maxD, innerV, innerD, MaxAbs(w.Y));
    }

    private static double MaxAbs(double[] a)
    {
        double r = 0;
        foreach (double v in a) if (!(Math.Abs(v) <= r)) r = Math.Abs(v);
        return r;
    }
}
