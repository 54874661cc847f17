// At most N secondary checks (SOA query and transfer) at once, the rest queued in arrival order:
// BIND's transfers-in. Ten thousand zones starting together then reach their primary ten at a time.

export class Limiter {
  private readonly max: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most that ever ran at once, for tests and the status view. */
  peak = 0;

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
