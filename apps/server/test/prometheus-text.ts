/**
 * A strict reader of Prometheus' text exposition format (version 0.0.4) for tests: any line
 * that is not empty or a well-formed comment, HELP, TYPE or sample throws, as do a family split
 * in two, a sample without its TYPE, a duplicate series and a histogram whose buckets do not
 * add up.
 */

export interface Sample {
  /** The sample's own name: a histogram's are `<family>_bucket`, `_sum` and `_count`. */
  name: string;
  family: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Each family's TYPE. */
  types: Map<string, string>;
}

const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const helpLine = new RegExp(`^# HELP (${name}) (.*)$`);
const typeLine = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`);
const sampleLine = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
/** One `name="value"` and its separator; the value's escapes are `\\`, `\"` and `\n`. */
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
const number = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const suffixesOf: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** A float as Go's `strconv.ParseFloat` (Prometheus' parser) reads it: `Inf`, `NaN` in any case. */
function parseValue(text: string, line: string): number {
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!number.test(text)) throw new Error(`not a sample value: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  labelPair.lastIndex = 0;
  while (labelPair.lastIndex < text.length) {
    const match = labelPair.exec(text);
    if (!match) throw new Error(`malformed labels: ${line}`);
    const [, label = '', escaped = ''] = match;
    if (label in labels) throw new Error(`label ${label} twice: ${line}`);
    labels[label] = escaped.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
  }
  return labels;
}

/** The family a sample belongs to, given the TYPEs declared so far. */
function familyOf(sampleName: string, types: Map<string, string>): string {
  for (const [family, type] of types) {
    const suffixes = suffixesOf[type] ?? [''];
    if (suffixes.some((suffix) => `${family}${suffix}` === sampleName)) return family;
  }
  throw new Error(`sample ${sampleName} has no TYPE before it`);
}

function checkHistograms(samples: Sample[], types: Map<string, string>): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const sample of samples) {
    if (types.get(sample.family) !== 'histogram' || sample.name.endsWith('_sum')) continue;
    const { le, ...rest } = sample.labels;
    const key = `${sample.family}${JSON.stringify(Object.entries(rest).sort())}`;
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_count')) entry.count = sample.value;
    else if (le === undefined) throw new Error(`${sample.name} without le`);
    else entry.buckets.push([parseValue(le, le), sample.value]);
  }
  for (const [key, { buckets, count }] of series) {
    const last = buckets.at(-1);
    if (last?.[0] !== Infinity || last[1] !== count) {
      throw new Error(`${key}: the +Inf bucket is not the count`);
    }
    buckets.forEach(([bound, value], index) => {
      const [previousBound, previousValue] = buckets[index - 1] ?? [-Infinity, 0];
      if (bound <= previousBound || value < previousValue) {
        throw new Error(`${key}: buckets out of order`);
      }
    });
  }
}

export function parsePrometheusText(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const finishedFamilies = new Set<string>();
  const seen = new Set<string>();
  let currentFamily: string | undefined;
  const enterFamily = (family: string) => {
    if (family === currentFamily) return;
    if (finishedFamilies.has(family)) throw new Error(`family ${family} is split in two`);
    if (currentFamily !== undefined) finishedFamilies.add(currentFamily);
    currentFamily = family;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    const help = helpLine.exec(line);
    const type = typeLine.exec(line);
    if (help?.[1]) {
      enterFamily(help[1]);
    } else if (type?.[1] && type[2]) {
      if (types.has(type[1])) throw new Error(`two TYPEs for ${type[1]}`);
      enterFamily(type[1]);
      types.set(type[1], type[2]);
    } else if (line.startsWith('#') || line === '') {
      // A comment, or an empty line (the format ignores both).
    } else {
      const sample = sampleLine.exec(line);
      if (!sample?.[1] || sample[3] === undefined) throw new Error(`not a sample: ${line}`);
      const family = familyOf(sample[1], types);
      enterFamily(family);
      const labels = sample[2] === undefined ? {} : parseLabels(sample[2], line);
      const key = `${sample[1]}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
      seen.add(key);
      samples.push({ name: sample[1], family, labels, value: parseValue(sample[3], line) });
    }
  }
  checkHistograms(samples, types);
  return { samples, types };
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return exposition.samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([label, value]) => sample.labels[label] === value),
  );
}

/** The value of the one sample named `name` with exactly these labels; throws unless one. */
export function valueOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samplesOf(exposition, name, labels).filter(
    (sample) => Object.keys(sample.labels).length === Object.keys(labels).length,
  );
  if (found.length !== 1 || !found[0]) {
    throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  }
  return found[0].value;
}
