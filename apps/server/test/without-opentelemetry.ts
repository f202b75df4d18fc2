/**
 * Preloaded into a spawned server by tracing.test.ts (`--import`, before `src/tracing.ts`): any
 * import of OpenTelemetry's SDK or of its module hook fails the start, which shows that a server
 * without an OTLP endpoint never loads them.
 */
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (/^(@opentelemetry\\/sdk-node|import-in-the-middle)$/.test(specifier)) {
    throw new Error('refused to load ' + specifier);
  }
  return next(specifier, context);
}`;

register(`data:text/javascript,${encodeURIComponent(hooks)}`);
