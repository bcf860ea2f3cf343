using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace Embeddings.Benchmarks.Fuzz
{
    /// <summary>
    /// One parser under fuzzing: <see cref="Run"/> gives it the input bytes; the exceptions of <see cref="Expected"/>
    /// (and their subclasses) are the parser's documented way to reject bad input, anything else is a crash.
    /// </summary>
    internal sealed class FuzzTarget
    {
        public FuzzTarget(string name, string description, Type[] expected, Action<byte[]> run, Func<IReadOnlyList<(string Name, byte[] Bytes)>> seeds,
            bool foreignExceptionsExpected = false)
        {
            ForeignExceptionsExpected = foreignExceptionsExpected;
            Name = name;
            Description = description;
            Expected = expected;
            Run = run;
            Seeds = seeds;
        }

        public string Name { get; }

        public string Description { get; }

        public IReadOnlyList<Type> Expected { get; }

        /// <summary>
        /// Any exception thrown with no frame of this library on its stack is expected too: for the model targets, ML.NET's
        /// own handling of a damaged model header (an assembly name it cannot load, for example), which is not ours to fix.
        /// </summary>
        public bool ForeignExceptionsExpected { get; }

        public Action<byte[]> Run { get; }

        /// <summary>Small valid inputs of the format (the starting corpus).</summary>
        public Func<IReadOnlyList<(string Name, byte[] Bytes)>> Seeds { get; }

        /// <summary>Runs the parser; an expected exception is swallowed, any other propagates (a crash for afl-fuzz).</summary>
        public void Execute(byte[] input)
        {
            try
            {
                Run(input);
            }
            catch (Exception e) when (IsExpected(e))
            {
            }
        }

        /// <summary>The exception the parser threw, after reflection and loader wrappers are taken off.</summary>
        public static Exception Unwrap(Exception e)
        {
            while (e is TargetInvocationException { InnerException: { } inner })
                e = inner;
            return e;
        }

        public bool IsExpected(Exception e)
        {
            var thrown = Unwrap(e);
            return Expected.Any(type => type.IsInstanceOfType(thrown)) || (ForeignExceptionsExpected && !ThrownByThisLibrary(thrown));
        }

        private static bool ThrownByThisLibrary(Exception e) =>
            (e.StackTrace ?? "").Split('\n').Select(f => f.Trim()).Any(f =>
                f.StartsWith("at Embeddings.", StringComparison.Ordinal) && !f.StartsWith("at Embeddings.Benchmarks.", StringComparison.Ordinal));

        public string ExpectedNames => string.Join(", ", Expected.Select(t => t.Name)) + (ForeignExceptionsExpected ? ", any exception thrown outside this library" : "");
    }
}
