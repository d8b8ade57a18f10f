/** A progress line on stderr: bytes, rate, ETA. Redrawn in place on a terminal, every 10% otherwise. */
export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastStep = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    initial = 0,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.done = initial;
    this.initial = initial;
  }
  private readonly initial: number;

  add(bytes: number): void {
    this.done += bytes;
    const now = Date.now();
    if (this.out.isTTY) {
      if (now - this.lastDraw >= 100 || this.done >= this.total) {
        this.lastDraw = now;
        this.out.write(`\r${this.line()}\x1b[K`);
      }
    } else {
      const step = this.total === 0 ? 10 : Math.floor((this.done / this.total) * 10);
      if (step > this.lastStep) {
        this.lastStep = step;
        this.out.write(`${this.line()}\n`);
      }
    }
  }

  finish(): void {
    if (this.out.isTTY) this.out.write(`\r${this.line()}\x1b[K\n`);
  }

  private line(): string {
    const seconds = Math.max(0.001, (Date.now() - this.start) / 1000);
    const rate = (this.done - this.initial) / seconds;
    const pct = this.total === 0 ? 100 : (this.done / this.total) * 100;
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}% ${mb(this.done)}/${mb(this.total)} ${mb(rate)}/s ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)}s` : '?'}`;
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
