using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// Runs numbered work items on dedicated threads, items taken in order from a shared counter. The result of an item
    /// must depend on the item alone (its random stream is seeded from the item's index), never on the thread that takes it.
    /// </summary>
    internal static class WorkItemThreads
    {
        /// <summary>
        /// Runs <paramref name="body"/>(thread, item, state) for the items [<paramref name="first"/>, <paramref name="end"/>)
        /// on up to <paramref name="threads"/> threads, each with a state from <paramref name="createState"/> (disposed at the
        /// end when it is <see cref="IDisposable"/>). The first exception stops the other threads after their current item
        /// and is rethrown here with its stack; cancellation stops them likewise and throws <see cref="OperationCanceledException"/>.
        /// </summary>
        public static void Run<TState>(long first, long end, int threads, string name, CancellationToken cancellation, Func<TState> createState, Action<int, long, TState> body)
        {
            long next = first;
            Exception? failure = null;
            var workers = new Thread[Math.Max(1, Math.Min(threads, Math.Max(1, end - first)))];
            for (int t = 0; t < workers.Length; t++)
            {
                int thread = t;
                workers[t] = new Thread(() =>
                {
                    try
                    {
                        var state = createState();
                        try
                        {
                            while (true)
                            {
                                long item = Interlocked.Increment(ref next) - 1;
                                if (item >= end || cancellation.IsCancellationRequested || Volatile.Read(ref failure) is not null)
                                    break;
                                body(thread, item, state);
                            }
                        }
                        finally
                        {
                            (state as IDisposable)?.Dispose();
                        }
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref failure, e, null);
                    }
                })
                { IsBackground = true, Name = $"{name} {t}" };
                workers[t].Start();
            }
            foreach (var worker in workers)
                worker.Join();
            if (failure is not null)
                ExceptionDispatchInfo.Capture(failure).Throw();
            cancellation.ThrowIfCancellationRequested();
        }
    }
}
