import { Logger } from './log';

type ShutdownStep = { name: string; run: () => Promise<void> };

/**
 * Graceful shutdown: on SIGINT/SIGTERM run the registered steps in reverse order of
 * registration (stop intake first, flush, then close connections), each bounded by a
 * timeout, then exit. A second signal exits at once.
 */
export class Lifecycle {
  private readonly steps: ShutdownStep[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly stepTimeoutMs = 30000,
  ) {}

  onShutdown(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Installs the signal handlers; resolves when shutdown has completed. */
  handleSignals(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopping) {
        this.logger.warn({ signal }, 'second signal, exiting without flushing');
        exit(130);
        return;
      }
      this.logger.info({ signal }, 'shutting down');
      this.shutdown().then(
        () => exit(0),
        () => exit(1),
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.runSteps();
    return this.stopping;
  }

  private async runSteps(): Promise<void> {
    let failed = false;
    for (const step of [...this.steps].reverse()) {
      const started = Date.now();
      try {
        await withTimeout(step.run(), this.stepTimeoutMs, step.name);
        this.logger.info({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
      } catch (err) {
        failed = true;
        this.logger.error({ step: step.name, err }, 'shutdown step failed');
      }
    }
    if (failed) throw new Error('shutdown incomplete');
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
