// Public types that moved from this assembly to Embeddings.Transforms (the layer below): programs compiled against an
// earlier release still find them here.
using System.Runtime.CompilerServices;

[assembly: TypeForwardedTo(typeof(Embeddings.Evaluation.NodeClassificationEvaluator))]
[assembly: TypeForwardedTo(typeof(Embeddings.Evaluation.NodeClassificationResult))]
[assembly: TypeForwardedTo(typeof(Embeddings.Evaluation.NodeClassificationSplit))]
