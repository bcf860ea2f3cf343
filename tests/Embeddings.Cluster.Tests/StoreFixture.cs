using Embeddings.Cluster.Storage;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    /// <summary>A fresh folder per test (<see cref="Root"/>) with a <see cref="DirectoryPartitionStore"/> over it, removed after the test.</summary>
    public abstract class StoreFixture
    {
        /// <summary>The test's folder.</summary>
        protected string Root { get; private set; } = null!;

        /// <summary>The store over <see cref="Root"/>.</summary>
        protected DirectoryPartitionStore Store { get; private set; } = null!;

        [SetUp]
        public void CreateStore()
        {
            Root = TempFolder.Create();
            Store = new DirectoryPartitionStore(Root);
        }

        [TearDown]
        public void DeleteStore() => TempFolder.Delete(Root);
    }
}
