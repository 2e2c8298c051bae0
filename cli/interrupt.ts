/**
 * Ctrl-C and SIGTERM during a command that runs stages: the first one aborts the operation's
 * signal — running stages are cancelled (a batch runner takes its jobs back out of the queue) and
 * the command ends with what is done; a second one exits at once.
 */
export async function interruptible<T>(
  io: { err(s: string): void },
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<{ value: T; interrupted: boolean }> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      io.err(`quiver: ${sig} again: exiting now`);
      process.exit(130);
    }
    io.err(`quiver: ${sig}: stopping (cancelling running stages; ${sig} again to exit at once)`);
    ac.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const value = await fn(ac.signal);
    return { value, interrupted: ac.signal.aborted };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
