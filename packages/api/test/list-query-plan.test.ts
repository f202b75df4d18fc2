/**
 * Proves that every allowed sort is served by an index, on the first page and 10 000 rows deep:
 * the plan of the exact SQL the listing sends has an index scan and no Sort node.
 */
import type { PrismaClient, SentStatement } from '@tasks/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../src/index.js';
import { createApiHarness, type ApiHarness } from './harness.js';

const rowsOfOwner = 10_050;
let api: ApiHarness;
let db: PrismaClient;
let services: Services;
let ownerId: string;
const queries: SentStatement[] = [];

beforeAll(async () => {
  api = await createApiHarness({ onQuery: (statement) => queries.push(statement) });
  ({ db, services } = api);
  ({ id: ownerId } = await services.auth.register({
    email: 'deep@example.com',
    password: 'correct horse battery',
  }));
  const { id: otherId } = await services.auth.register({
    email: 'other@example.com',
    password: 'correct horse battery',
  });
  const insertTasks = (owner: string, count: number) =>
    db.$executeRawUnsafe(
      `INSERT INTO "Task" ("id", "ownerId", "title", "status", "createdAt", "updatedAt")
       SELECT gen_random_uuid(), $1::uuid, 'task ' || lpad(i::text, 6, '0'), 'open',
              now() - make_interval(secs => i), now() - make_interval(secs => i * 2)
       FROM generate_series(1, $2::int) AS i`,
      owner,
      count,
    );
  await insertTasks(ownerId, rowsOfOwner);
  await insertTasks(otherId, 5_000);
  await db.$executeRawUnsafe('ANALYZE "Task"');
}, 120_000);
afterAll(() => api.close());

interface PlanNode {
  'Node Type': string;
  Plans?: PlanNode[];
}

function nodeTypes(node: PlanNode): string[] {
  return [node['Node Type'], ...(node.Plans ?? []).flatMap(nodeTypes)];
}

type Explained = { 'QUERY PLAN': [{ Plan: PlanNode }] }[];

function planNodes([result]: Explained): string[] {
  if (!result) throw new Error('no plan');
  return nodeTypes(result['QUERY PLAN'][0].Plan);
}

/** A parameter as an SQL literal, for `EXECUTE`, which takes no bound parameters. */
function literal(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const text =
    value instanceof Date
      ? value.toISOString()
      : Array.isArray(value)
        ? `{${value.join(',')}}`
        : String(value);
  return `'${text.replaceAll("'", "''")}'`;
}

let probes = 0;

/**
 * Runs a list call and EXPLAINs the SELECT it sent, twice: planned for its parameters, and as the
 * generic plan PostgreSQL may cache for the prepared statement after a few executions.
 */
async function plansOf(list: () => Promise<unknown>): Promise<string[][]> {
  queries.length = 0;
  await list();
  const select = queries.find(({ sql }) => /^SELECT .* FROM "Task"/s.test(sql));
  if (!select) throw new Error('no task query captured');
  const custom = await db.$queryRawUnsafe<Explained>(
    `EXPLAIN (FORMAT JSON) ${select.sql}`,
    ...select.params,
  );
  const probe = `plan_probe_${++probes}`;
  const generic = await db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('SET LOCAL plan_cache_mode = force_generic_plan');
    await tx.$executeRawUnsafe(`PREPARE ${probe} AS ${select.sql}`);
    const explained = await tx.$queryRawUnsafe<Explained>(
      `EXPLAIN (FORMAT JSON) EXECUTE ${probe}(${select.params.map(literal).join(', ')})`,
    );
    await tx.$executeRawUnsafe(`DEALLOCATE ${probe}`);
    return explained;
  });
  return [planNodes(custom), planNodes(generic)];
}

const sorts = ['createdAt', 'updatedAt', 'title'] as const;
const orders = ['desc', 'asc'] as const;

describe.each(sorts.flatMap((sort) => orders.map((order) => ({ sort, order }))))(
  'listing by $sort $order',
  ({ sort, order }) => {
    it('reads the first page and a page 10 000 rows deep from an index, without sorting, custom and generic plans alike', async () => {
      const firstPage = await plansOf(() =>
        services.tasks.list(ownerId, { limit: 50, sort, order }),
      );

      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        cursor =
          (await services.tasks.list(ownerId, { limit: 200, sort, order, cursor })).nextCursor ??
          undefined;
      }
      expect(cursor).toBeDefined();
      const deepPage = await plansOf(() =>
        services.tasks.list(ownerId, { limit: 50, sort, order, cursor }),
      );

      for (const plan of [...firstPage, ...deepPage]) {
        expect(plan).not.toContain('Sort');
        expect(plan.some((type) => type.startsWith('Index'))).toBe(true);
      }
    });
  },
);
