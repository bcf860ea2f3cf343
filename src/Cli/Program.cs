using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Embeddings.Cli
{
    internal static class Program
    {
        private static int Main(string[] args)
        {
            using var cancellation = new CancellationTokenSource();
            // The first Ctrl+C (or SIGTERM) cancels the token the commands pass to the library; they stop at the next check
            // and write nothing (exit code 130). A second one ends the process at once (the default handling).
            // System.CommandLine's own handler is off (EmbeddingsCli.Run): it returns 130 after a timeout while the command
            // still runs (it could be renaming an output into place as the process exits), and ignores a second Ctrl+C.
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Cancel(context, cancellation));
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Cancel(context, cancellation));
            return EmbeddingsCli.Run(args, cancellation.Token);
        }

        private static void Cancel(PosixSignalContext context, CancellationTokenSource cancellation)
        {
            if (cancellation.IsCancellationRequested)
                return;
            context.Cancel = true;
            Console.Error.WriteLine();
            Console.Error.WriteLine($"{EmbeddingsCli.Name}: cancelling at the next check; no output will be written (press Ctrl+C again to stop at once)");
            try
            {
                cancellation.Cancel();
            }
            catch (AggregateException)
            {
                // A failing cancellation callback must not end the process from the signal handler: the run reports it.
            }
        }
    }
}
