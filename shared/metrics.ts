// A small Prometheus registry (counters, gauges, histograms) rendered in the text exposition format 0.0.4.
//
// No dependency: the hot path only increments numbers found by a string key in a Map, and
// `child()` lets a caller look a series up once and keep it.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string | number>>;

/** Prometheus' default buckets (seconds), for latencies. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatNumber(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

interface Series<V> {
  /** Label values, in labelNames order. */
  values: string[];
  /** `{a="x",b="y"}` or '' without labels, ready to print. */
  text: string;
  state: V;
}

abstract class Metric<V> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly series = new Map<string, Series<V>>();

  constructor(name: string, help: string, labelNames: readonly string[], reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(name)) throw new Error(`metric name "${name}" is not valid in Prometheus`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`metric ${name}: label name "${l}" is not valid in Prometheus`);
      if (reserved.includes(l)) throw new Error(`metric ${name}: label name "${l}" is reserved`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new Error(`metric ${name}: a label name is repeated`);
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected abstract initial(): V;
  protected abstract renderSeries(s: Series<V>, out: string[]): void;

  /** The series for these labels, created on first use. Every label name must have a value. */
  protected seriesFor(labels: Labels | undefined): Series<V> {
    const names = this.labelNames;
    let key = '';
    if (names.length === 1) {
      const v = labels?.[names[0]];
      if (v === undefined) throw new Error(`metric ${this.name}: label "${names[0]}" missing`);
      key = String(v);
    } else if (names.length > 1) {
      for (let i = 0; i < names.length; i++) {
        const v = labels?.[names[i]];
        if (v === undefined) throw new Error(`metric ${this.name}: label "${names[i]}" missing`);
        // Length-prefixed, so that no two lists of values share a key whatever they contain.
        const t = String(v);
        key += t.length + ':' + t;
      }
    }
    let s = this.series.get(key);
    if (s === undefined) {
      const values = names.map((n) => String(labels![n]));
      const text = names.length === 0 ? '' : '{' + names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`).join(',') + '}';
      s = { values, text, state: this.initial() };
      this.series.set(key, s);
    }
    return s;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    // A metric without labels has exactly one series, worth showing at zero before anything happens.
    if (this.labelNames.length === 0 && this.series.size === 0) this.seriesFor(undefined);
    for (const s of this.series.values()) this.renderSeries(s, out);
  }
}

interface Cell {
  value: number;
}

export interface CounterChild {
  inc(n?: number): void;
}

export class Counter extends Metric<Cell> {
  readonly type = 'counter';
  protected initial(): Cell {
    return { value: 0 };
  }

  /** Adds n (default 1); a counter never goes down, so a negative n throws. */
  inc(labels?: Labels, n = 1): void {
    if (!(n >= 0)) throw new Error(`counter ${this.name}: increment ${n} is negative`);
    this.seriesFor(labels).state.value += n;
  }

  /** One series, looked up once, for a hot path. */
  child(labels?: Labels): CounterChild {
    const cell = this.seriesFor(labels).state;
    const name = this.name;
    return {
      inc(n = 1) {
        if (!(n >= 0)) throw new Error(`counter ${name}: increment ${n} is negative`);
        cell.value += n;
      },
    };
  }

  get(labels?: Labels): number {
    return this.seriesFor(labels).state.value;
  }

  protected renderSeries(s: Series<Cell>, out: string[]): void {
    out.push(`${this.name}${s.text} ${formatNumber(s.state.value)}`);
  }
}

export interface GaugeChild {
  set(value: number): void;
  inc(n?: number): void;
  dec(n?: number): void;
}

export class Gauge extends Metric<Cell> {
  readonly type = 'gauge';
  protected initial(): Cell {
    return { value: 0 };
  }

  set(value: number): void;
  set(labels: Labels, value: number): void;
  set(a: Labels | number, b?: number): void {
    if (typeof a === 'number') this.seriesFor(undefined).state.value = a;
    else this.seriesFor(a).state.value = b!;
  }

  inc(labels?: Labels, n = 1): void {
    this.seriesFor(labels).state.value += n;
  }

  dec(labels?: Labels, n = 1): void {
    this.seriesFor(labels).state.value -= n;
  }

  child(labels?: Labels): GaugeChild {
    const cell = this.seriesFor(labels).state;
    return {
      set: (v) => void (cell.value = v),
      inc: (n = 1) => void (cell.value += n),
      dec: (n = 1) => void (cell.value -= n),
    };
  }

  get(labels?: Labels): number {
    return this.seriesFor(labels).state.value;
  }

  protected renderSeries(s: Series<Cell>, out: string[]): void {
    out.push(`${this.name}${s.text} ${formatNumber(s.state.value)}`);
  }
}

interface Buckets {
  /** Observations per bucket, not cumulative; the last slot is above every bound (+Inf). */
  counts: number[];
  sum: number;
  count: number;
}

export interface HistogramChild {
  observe(value: number): void;
}

export class Histogram extends Metric<Buckets> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly leTexts: string[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = DEFAULT_BUCKETS) {
    super(name, help, labelNames, ['le']);
    const b = buckets.filter((x) => x !== Infinity);
    for (let i = 0; i < b.length; i++) {
      if (!Number.isFinite(b[i])) throw new Error(`histogram ${name}: bucket bound ${b[i]} is not a number`);
      if (i > 0 && !(b[i] > b[i - 1])) throw new Error(`histogram ${name}: bucket bounds must increase (${b[i - 1]}, ${b[i]})`);
    }
    this.buckets = b;
    this.leTexts = [...b.map(formatNumber), '+Inf'];
  }

  protected initial(): Buckets {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  private record(s: Buckets, value: number): void {
    const b = this.buckets;
    // Binary search for the first bound >= value (le means "less than or equal").
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid] >= value) hi = mid;
      else lo = mid + 1;
    }
    s.counts[lo]++;
    s.sum += value;
    s.count++;
  }

  observe(value: number): void;
  observe(labels: Labels, value: number): void;
  observe(a: Labels | number, b?: number): void {
    if (typeof a === 'number') this.record(this.seriesFor(undefined).state, a);
    else this.record(this.seriesFor(a).state, b!);
  }

  child(labels?: Labels): HistogramChild {
    const state = this.seriesFor(labels).state;
    return { observe: (v) => this.record(state, v) };
  }

  protected renderSeries(s: Series<Buckets>, out: string[]): void {
    // `le` goes last, after the series' own labels.
    const open = s.text === '' ? '{' : s.text.slice(0, -1) + ',';
    let cumulative = 0;
    for (let i = 0; i < this.leTexts.length; i++) {
      cumulative += s.state.counts[i];
      out.push(`${this.name}_bucket${open}le="${this.leTexts[i]}"} ${cumulative}`);
    }
    out.push(`${this.name}_sum${s.text} ${formatNumber(s.state.sum)}`, `${this.name}_count${s.text} ${s.state.count}`);
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric<unknown>>();

  private add<M extends Metric<unknown>>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DEFAULT_BUCKETS): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Every metric in the order registered, as Prometheus scrapes it (serve with CONTENT_TYPE). */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.join('\n') + '\n';
  }
}
