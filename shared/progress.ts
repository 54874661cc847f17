// A progress display for long imports and replays: a live line on a terminal, a line every few seconds otherwise.

export interface Progress {
  tick(n?: number): void;
  done(): void;
}

export function progress(label: string, total: number | undefined, out: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  if (quiet) return { tick() {}, done() {} };
  const start = performance.now();
  let count = 0;
  let last = 0;
  const tty = out.isTTY === true;
  const every = tty ? 100 : 3000;
  const line = (): string => {
    const secs = (performance.now() - start) / 1000;
    const rate = secs > 0 ? Math.round(count / secs) : 0;
    const of = total ? `/${total.toLocaleString('en-US')} (${Math.floor((count / total) * 100)}%)` : '';
    return `${label}: ${count.toLocaleString('en-US')}${of}, ${rate.toLocaleString('en-US')}/s, ${secs.toFixed(1)} s`;
  };
  return {
    tick(n = 1) {
      count += n;
      const now = performance.now();
      if (now - last < every) return;
      last = now;
      out.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`);
    },
    done() {
      if (performance.now() - start > 1000 || tty) out.write(tty ? `\r${line()}\x1b[K\n` : `${line()}\n`);
    },
  };
}
