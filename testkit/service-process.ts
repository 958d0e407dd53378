import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitUntil } from './wait';

const ROOT = join(__dirname, '..');

/** A pipeline command running as its own process, as in production, so tests can SIGKILL it. */
export class ServiceProcess {
  /**
   * Run the compiled dist/cli/index.js (what the Docker image runs) rather than the TypeScript
   * source through tsx: benchmarks set it (after checking dist/ is fresh), tests keep the source.
   */
  static compiled = false;

  readonly output: string[] = [];
  metricsPort = 0;
  private readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly command: string,
    args: string[],
    env: Record<string, string>,
  ) {
    const entry = ServiceProcess.compiled ? [join(ROOT, 'dist/cli/index.js')] : ['--import', 'tsx', join(ROOT, 'cli/index.ts')];
    this.child = spawn(process.execPath, [...entry, command, ...args], {
      cwd: ROOT,
      env: { ...process.env, METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.output.push(line);
        const port = /"metricsPort":(\d+)/.exec(line);
        if (port) this.metricsPort = Number(port[1]);
      }
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** null while the process runs. */
  get exitCode(): number | null {
    return this.child.exitCode ?? (this.child.signalCode === null ? null : -1);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Waits until a log line matches (e.g. the service says it is running). */
  async waitForLog(pattern: RegExp, timeoutMs = 60000): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    try {
      await waitUntil(`${pattern}`, () => exited || this.output.some((l) => pattern.test(l)), timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; output:\n${this.tail()}`, { cause: err });
    }
    if (!this.output.some((l) => pattern.test(l))) throw new Error(`${this.command} exited before ${pattern}; output:\n${this.tail()}`);
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /** Sum of a counter's samples whose labels contain every given label. */
  async metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.metrics();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
    }
    return sum;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  tail(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }
}
