namespace Embeddings
{
    /// <summary>Statistics of a partitioned run (graph walks or sequences) (docs/partitioned-training.md).</summary>
    /// <param name="Partitions">Partitions P of the input and of the output vectors.</param>
    /// <param name="EpisodesPerEpoch">Episodes per epoch: each trains all P x P buckets of its walks (or corpus shards) once.</param>
    /// <param name="BucketsTrained">Buckets trained by this call to <c>Fit</c>.</param>
    /// <param name="BucketsDoneBefore">Buckets a previous, interrupted run of the same directory had completed (0 for a new run).</param>
    /// <param name="MatrixLoads">Partition matrices read from disk for training over the whole run, every attempt included (the swap count).</param>
    /// <param name="PairsTrained">(Input, output) pairs trained by this call.</param>
    /// <param name="ResidentModelBytes">The memory the partitioned trainer's model takes, as checked against the budget.</param>
    /// <param name="Attempts">Processes that have run this directory's training, this one included (1 for an uninterrupted run).</param>
    /// <param name="Directory">The partition directory.</param>
    public sealed record PartitionedTrainingSummary(int Partitions, int EpisodesPerEpoch, int BucketsTrained, int BucketsDoneBefore, long MatrixLoads,
        long PairsTrained, long ResidentModelBytes, int Attempts, string Directory);
}
