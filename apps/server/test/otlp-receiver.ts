/**
 * An OTLP/HTTP trace receiver on 127.0.0.1 for tests: what a collector or Jaeger would be
 * sent, in the JSON encoding (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), flattened to spans.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: AnyValue }[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number };
}

interface ExportRequest {
  resourceSpans: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Absent on a trace's root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's numbering: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  links: { traceId: string; spanId: string }[];
  /** `service.name` of the process that sent it. */
  service: string | undefined;
}

export const spanKind = { server: 2, consumer: 5 } as const;

export interface OtlpReceiver {
  /** For `OTEL_EXPORTER_OTLP_ENDPOINT`: the exporter appends `/v1/traces`. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Resolves with the spans once `found` is true of them (rejects after `timeoutMs`). */
  waitFor(found: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const valueOf = ({ stringValue, intValue, boolValue, doubleValue }: AnyValue) =>
  stringValue ??
  (intValue === undefined ? undefined : Number(intValue)) ??
  boolValue ??
  doubleValue;

const attributesOf = (attributes: { key: string; value: AnyValue }[] = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, valueOf(value)]));

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
      for (const { resource, scopeSpans } of body.resourceSpans) {
        const service = attributesOf(resource?.attributes)['service.name'];
        for (const span of scopeSpans.flatMap((scope) => scope.spans)) {
          spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
            links: span.links ?? [],
            service: typeof service === 'string' ? service : undefined,
          });
        }
      }
      for (const wake of waiters) wake();
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    waitFor(found, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!found(spans)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(spans);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the spans never arrived; received:\n${describeSpans(spans)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** One line per span, indented under its parent: for failure messages. */
export function describeSpans(spans: readonly ReceivedSpan[]): string {
  const lines: string[] = [];
  const ids = new Set(spans.map((span) => span.spanId));
  const visit = (span: ReceivedSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${span.name} [${span.traceId.slice(0, 8)}]`);
    for (const child of spans.filter((other) => other.parentSpanId === span.spanId)) {
      visit(child, depth + 1);
    }
  };
  for (const root of spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId))) {
    visit(root, 0);
  }
  return lines.join('\n');
}
