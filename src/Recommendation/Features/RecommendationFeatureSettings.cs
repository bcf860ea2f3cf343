using System;
using System.IO;
using System.Threading;
using Embeddings.Infrastructure;

namespace Embeddings.Recommendation
{
    /// <summary>How the ranking features and the blend score read a user's history.</summary>
    public sealed class RecommendationFeatureSettings
    {
        /// <summary>User vectors (item2vec and node2vec) are the mean input vector of the last N items; co-occurrence features look at the same N. Default 5; 1 to 1000.</summary>
        public int HistoryLength { get; set; } = 5;

        /// <summary>Transition features count first-order transitions from the user's last N items to the candidate. Default 3; 1 to 1000.</summary>
        public int TransitionHistoryLength { get; set; } = 3;

        /// <summary>Two items co-occur when at most this many positions apart in a user's history. Default 5; 1 to 1000.</summary>
        public int CooccurrenceWindow { get; set; } = 5;

        /// <summary>"Recent popularity" counts an item's occurrences among each user's last N training items. Default 10; 1 or more.</summary>
        public int RecentHistoryLength { get; set; } = 10;

        /// <summary>
        /// Time features count an item's interactions within this many interactions (of anybody, in time order) before and
        /// after the user's last training interaction. Default 2000; 1 or more.
        /// </summary>
        public int TimeWindowInteractions { get; set; } = 2000;

        /// <summary>Weight of the standardised item2vec input-output logit in the blend score. Default 1; finite.</summary>
        public float LogitWeight { get; set; } = 1;

        /// <summary>Weight of log(1 + transitions from the last items) in the blend score. Default 1; finite.</summary>
        public float TransitionWeight { get; set; } = 1;

        /// <summary>Weight of log(1 + co-occurrence with the recent items / sqrt(popularity)) in the blend score. Default 0.5; finite.</summary>
        public float CooccurrenceWeight { get; set; } = 0.5f;

        /// <summary>
        /// Candidates recalled by the end-to-end sequence model (<see cref="RecommendationFeaturesEstimator.Options.SequenceModel"/>)
        /// and added to the blend's: the ranker re-ranks the union of the blend's top items, these items' top by the
        /// sequence model's logit and <see cref="Item2VecCandidateCount"/> items' top by the item2vec logit (deduplicated,
        /// in that order). Default 0 (none); 0 to 100,000; more than 0 needs a sequence model.
        /// </summary>
        public int SequenceCandidateCount { get; set; }

        /// <summary>Candidates recalled by the item2vec input-output logit and added to the union (see <see cref="SequenceCandidateCount"/>). Default 0 (none); 0 to 100,000.</summary>
        public int Item2VecCandidateCount { get; set; }

        internal RecommendationFeatureSettings Clone() => (RecommendationFeatureSettings)MemberwiseClone();

        internal void Validate(string component)
        {
            OptionChecks.Check(component, HistoryLength is >= 1 and <= 1000, nameof(HistoryLength), HistoryLength, "use 1 to 1000 (5 is usual)");
            OptionChecks.Check(component, TransitionHistoryLength is >= 1 and <= 1000, nameof(TransitionHistoryLength), TransitionHistoryLength, "use 1 to 1000 (3 is usual)");
            OptionChecks.Check(component, CooccurrenceWindow is >= 1 and <= 1000, nameof(CooccurrenceWindow), CooccurrenceWindow, "use 1 to 1000 (5 is usual)");
            OptionChecks.Check(component, RecentHistoryLength >= 1, nameof(RecentHistoryLength), RecentHistoryLength, "use 1 or more (10 is usual)");
            OptionChecks.Check(component, TimeWindowInteractions >= 1, nameof(TimeWindowInteractions), TimeWindowInteractions, "use 1 or more (2000 is the default)");
            OptionChecks.Check(component, float.IsFinite(LogitWeight), nameof(LogitWeight), LogitWeight, "use a finite weight (1 by default)");
            OptionChecks.Check(component, float.IsFinite(TransitionWeight), nameof(TransitionWeight), TransitionWeight, "use a finite weight (1 by default)");
            OptionChecks.Check(component, float.IsFinite(CooccurrenceWeight), nameof(CooccurrenceWeight), CooccurrenceWeight, "use a finite weight (0.5 by default)");
            OptionChecks.Check(component, SequenceCandidateCount is >= 0 and <= 100_000, nameof(SequenceCandidateCount), SequenceCandidateCount, "use 0 (none) to 100,000");
            OptionChecks.Check(component, Item2VecCandidateCount is >= 0 and <= 100_000, nameof(Item2VecCandidateCount), Item2VecCandidateCount, "use 0 (none) to 100,000");
        }

        internal void Write(BinaryWriter writer)
        {
            writer.Write(HistoryLength);
            writer.Write(TransitionHistoryLength);
            writer.Write(CooccurrenceWindow);
            writer.Write(RecentHistoryLength);
            writer.Write(TimeWindowInteractions);
            writer.Write(LogitWeight);
            writer.Write(TransitionWeight);
            writer.Write(CooccurrenceWeight);
            writer.Write(SequenceCandidateCount);
            writer.Write(Item2VecCandidateCount);
        }

        /// <summary>Reads settings written by <see cref="Write"/> into a feature state of format <paramref name="version"/> (the candidate counts from version 3 on).</summary>
        internal static RecommendationFeatureSettings Read(BinaryReader reader, int version)
        {
            var settings = new RecommendationFeatureSettings
            {
                HistoryLength = reader.ReadInt32(),
                TransitionHistoryLength = reader.ReadInt32(),
                CooccurrenceWindow = reader.ReadInt32(),
                RecentHistoryLength = reader.ReadInt32(),
                TimeWindowInteractions = reader.ReadInt32(),
                LogitWeight = reader.ReadSingle(),
                TransitionWeight = reader.ReadSingle(),
                CooccurrenceWeight = reader.ReadSingle(),
            };
            if (version >= 3)
            {
                settings.SequenceCandidateCount = reader.ReadInt32();
                settings.Item2VecCandidateCount = reader.ReadInt32();
            }
            try
            {
                settings.Validate("Recommendation features");
            }
            catch (ArgumentException e)
            {
                throw new FormatException("The saved recommendation feature settings are invalid: " + e.Message, e);
            }
            return settings;
        }
    }

    /// <summary>node2vec over the item transition graph (an edge between consecutive items of a user's history, weighted by how often it occurs).</summary>
    public sealed class ItemGraphOptions
    {
        /// <summary>Whether to train node2vec item vectors at all; without them the node2vec features are 0. Default true.</summary>
        public bool Enabled { get; set; } = true;

        /// <summary>Vector length. Default 64; 1 to 100,000.</summary>
        public int EmbeddingDimension { get; set; } = 64;

        /// <summary>Nodes per walk. Default 40; 2 or more.</summary>
        public int WalkLength { get; set; } = 40;

        /// <summary>Walks started from each item. Default 10; 1 or more.</summary>
        public int WalksPerNode { get; set; } = 10;

        /// <summary>Skip-gram window over the walks. Default 5; 1 or more.</summary>
        public int WindowSize { get; set; } = 5;

        /// <summary>node2vec return parameter p. Default 1; positive.</summary>
        public double ReturnParameter { get; set; } = 1;

        /// <summary>node2vec in-out parameter q. Default 1; positive.</summary>
        public double InOutParameter { get; set; } = 1;

        /// <summary>Walk along transitions only (earlier item to later item) instead of both ways. Default false (walks may dead-end when true).</summary>
        public bool Directed { get; set; }

        /// <summary>Skip-gram passes over the walks. Default 1; 1 or more.</summary>
        public int Epochs { get; set; } = 1;

        /// <summary>Initial skip-gram learning rate. Default 0.05 (the graph default); in (0, 1].</summary>
        public float LearningRate { get; set; } = 0.05f;

        /// <summary>Negative samples per walk position. Default 5; 1 to 1000.</summary>
        public int NegativeSampleCount { get; set; } = 5;

        internal ItemGraphOptions Clone() => (ItemGraphOptions)MemberwiseClone();

        /// <summary>Checks every setting; <paramref name="component"/> prefixes the messages (e.g. "RecommendationFeatures.ItemGraph").</summary>
        internal void Validate(string component)
        {
            OptionChecks.Check(component, EmbeddingDimension is >= 1 and <= 100_000, nameof(EmbeddingDimension), EmbeddingDimension, "use 1 to 100,000 (64 is the default)");
            OptionChecks.Check(component, WalkLength >= 2, nameof(WalkLength), WalkLength, "use 2 or more nodes per walk (40 is the default)");
            OptionChecks.Check(component, WalksPerNode >= 1, nameof(WalksPerNode), WalksPerNode, "use 1 or more (10 is the default)");
            OptionChecks.Check(component, WindowSize >= 1, nameof(WindowSize), WindowSize, "use 1 or more (5 is the default)");
            OptionChecks.Check(component, double.IsFinite(ReturnParameter) && ReturnParameter > 0, nameof(ReturnParameter), ReturnParameter, "use p > 0 (1 is the default)");
            OptionChecks.Check(component, double.IsFinite(InOutParameter) && InOutParameter > 0, nameof(InOutParameter), InOutParameter, "use q > 0 (1 is the default)");
            OptionChecks.Check(component, Epochs >= 1, nameof(Epochs), Epochs, "use 1 or more");
            OptionChecks.Check(component, LearningRate > 0 && LearningRate <= 1, nameof(LearningRate), LearningRate, "use a value in (0, 1] (0.05 is the default)");
            OptionChecks.Check(component, NegativeSampleCount is >= 1 and <= 1000, nameof(NegativeSampleCount), NegativeSampleCount, "use 1 to 1000 (5 is the default)");
        }

        /// <summary>The node2vec settings of these options, for a graph whose edges are in columns <paramref name="source"/> and <paramref name="target"/>.</summary>
        internal Node2VecEstimator.Options Node2VecOptions(string source, string target, int? threads, int seed, CancellationToken cancellation)
        {
            var graph = new Node2VecEstimator.Options
            {
                SourceColumnName = source,
                TargetColumnName = target,
                Directed = Directed,
                KeepSelfLoops = false,
                EmbeddingDimension = EmbeddingDimension,
                WalkLength = WalkLength,
                WalksPerNode = WalksPerNode,
                WindowSize = WindowSize,
                NegativeSampleCount = NegativeSampleCount,
                Epochs = Epochs,
                LearningRate = LearningRate,
                ReturnParameter = ReturnParameter,
                InOutParameter = InOutParameter,
                NumberOfThreads = threads,
                Seed = seed,
                KeepContextVectors = true,
                CancellationToken = cancellation,
            };
            graph.OutputColumns.Add((source + "Vector", source));
            return graph;
        }
    }
}
