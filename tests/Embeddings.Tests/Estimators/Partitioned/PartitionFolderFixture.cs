using System;
using System.IO;
using Embeddings.Partitioned;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Partitioned
{
    /// <summary>A fresh temporary folder per test for partition directories (<see cref="Root"/>), removed after it; the crash hook is reset.</summary>
    public abstract class PartitionFolderFixture
    {
        /// <summary>The test's folder.</summary>
        protected string Root { get; private set; } = null!;

        /// <summary>The name the folder starts with, under the system's temporary folder.</summary>
        protected abstract string FolderPrefix { get; }

        [SetUp]
        public void CreateRoot()
        {
            Root = Path.Combine(Path.GetTempPath(), FolderPrefix + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Root);
        }

        [TearDown]
        public void RemoveRoot()
        {
            PartitionedTraining.BucketCommitted = null;
            // Memory-mapped result tables of the test are released before their files are deleted.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A mapping still open on another platform; the temporary folder is left behind.
            }
        }
    }
}
