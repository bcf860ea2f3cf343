// Uses ML.NET internals: whether MLContext.CancelExecution() was called is visible only through the internal
// ICancelable interface of the hosts that the context registers.
using System;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Connects <see cref="MLContext.CancelExecution"/> to a <see cref="CancellationToken"/>, so that a trainer whose
    /// kernels observe tokens also stops when the context is cancelled, as ML.NET's own trainers do.
    /// </summary>
    /// <remarks>
    /// ML.NET raises no event on <c>CancelExecution</c>; the context is therefore polled every
    /// <see cref="PollingInterval"/> while the returned scope is alive. Dispose the scope when training ends.
    /// </remarks>
    public sealed class ContextCancellation : IDisposable
    {
        /// <summary>How often the context is checked: 50 ms.</summary>
        public static readonly TimeSpan PollingInterval = TimeSpan.FromMilliseconds(50);

        private readonly CancellationTokenSource _source;
        private readonly Timer? _timer;

        private ContextCancellation(IHost host, CancellationToken token)
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(token);
            if (IsCanceled(host))
            {
                _source.Cancel();
                return;
            }
            _timer = new Timer(_ =>
            {
                if (IsCanceled(host))
                    _source.Cancel();
            }, null, PollingInterval, PollingInterval);
        }

        /// <summary>Cancelled when the caller's token is cancelled or the context's <c>CancelExecution</c> is called.</summary>
        public CancellationToken Token => _source.Token;

        /// <summary>
        /// Starts watching <paramref name="context"/> for <see cref="MLContext.CancelExecution"/>; the scope's
        /// <see cref="Token"/> is also cancelled with <paramref name="token"/>.
        /// </summary>
        /// <param name="context">The context whose cancellation to observe.</param>
        /// <param name="componentName">The name under which the component registers with the context.</param>
        /// <param name="token">The caller's own token (for example an option of the estimator); may be <c>default</c>.</param>
        public static ContextCancellation Watch(MLContext context, string componentName, CancellationToken token = default)
        {
            ArgumentNullException.ThrowIfNull(context);
            // A fixed seed: registering without one would draw from the context's random source and so change the
            // random starts of the components fitted after this one.
            return new ContextCancellation(((IHostEnvironment)context).Register(componentName, seed: 0), token);
        }

        /// <summary>
        /// Cancels everything running on <paramref name="context"/>: its <c>CancelExecution</c>, which ML.NET 5 exposes
        /// only through the Microsoft.ML.Experimental package. Our trainers, and ML.NET's own where they check, stop
        /// with an <see cref="OperationCanceledException"/>.
        /// </summary>
        /// <param name="context">The context to cancel; it stays cancelled.</param>
        public static void CancelExecution(MLContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            context.CancelExecution();
        }

        private static bool IsCanceled(IHost host) => host is ICancelable cancelable && cancelable.IsCanceled;

        /// <summary>Stops watching the context.</summary>
        public void Dispose()
        {
            _timer?.Dispose();
            _source.Dispose();
        }
    }
}
