/**
 * Proves that every allowed sort is served by an index, on the first page and 10 000 rows deep,
 * with the due-date filters too: the plan of the exact SQL the listing sends has an index scan
 * and no Sort node.
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
  // One task in ten has no due date; the others are due an hour apart from 2026-01-01 on.
  const insertTasks = (owner: string, count: number) =>
    db.$executeRawUnsafe(
      `INSERT INTO "Task" ("id", "ownerId", "title", "status", "createdAt", "updatedAt", "dueAt")
       SELECT gen_random_uuid(), $1::uuid, 'task ' || lpad(i::text, 6, '0'), 'open',
              now() - make_interval(secs => i), now() - make_interval(secs => i * 2),
              CASE WHEN i % 10 <> 0 THEN '2026-01-01T00:00:00Z'::timestamptz + make_interval(hours => i) END
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
  'Index Name'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

/** Each node's type; a scan also names its index, and says when rows are filtered after it. */
function nodeTypes(node: PlanNode): string[] {
  const index = node['Index Name'] === undefined ? '' : ` using ${node['Index Name']}`;
  const filter = node.Filter === undefined ? '' : ' then filter';
  return [`${node['Node Type']}${index}${filter}`, ...(node.Plans ?? []).flatMap(nodeTypes)];
}

type Explained = { 'QUERY PLAN': [{ Plan: PlanNode }] }[];

function planNodes([result]: Explained): string[] {
  if (!result) throw new Error('no plan');
  return nodeTypes(result['QUERY PLAN'][0].Plan);
}

/** A parameter as an SQL literal, for `EXECUTE`, which takes no bound parameters. */
function literal(value: unknown): string {
  const quoted = (text: string) => `'${text.replaceAll("'", "''")}'`;
  // A cursor past a task without a due date carries a null key.
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return quoted(value);
  if (value instanceof Date) return quoted(value.toISOString());
  if (Array.isArray(value)) return quoted(`{${value.join(',')}}`);
  throw new Error(`No SQL literal for ${JSON.stringify(value)}`);
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

const sorts = ['createdAt', 'updatedAt', 'title', 'dueAt'] as const;
const orders = ['desc', 'asc'] as const;

/** The plans of the first page and of the page `pagesDeep` pages of 200 rows further down. */
async function firstAndDeepPlans(
  listing: Omit<Parameters<Services['tasks']['list']>[1], 'limit' | 'cursor'>,
  pagesDeep: number,
): Promise<string[][]> {
  const firstPage = await plansOf(() => services.tasks.list(ownerId, { ...listing, limit: 50 }));
  let cursor: string | undefined;
  for (let page = 0; page < pagesDeep; page++) {
    cursor =
      (await services.tasks.list(ownerId, { ...listing, limit: 200, cursor })).nextCursor ??
      undefined;
  }
  expect(cursor).toBeDefined();
  const deepPage = await plansOf(() =>
    services.tasks.list(ownerId, { ...listing, limit: 50, cursor }),
  );
  return [...firstPage, ...deepPage];
}

function expectIndexScanWithoutSort(plans: string[][]): void {
  for (const plan of plans) {
    expect(plan).not.toContain('Sort');
    expect(plan.some((type) => type.startsWith('Index'))).toBe(true);
  }
}

/**
 * By due date, the expression index serves the order, the cursor and the due-date filters alike:
 * every condition bounds the scan, none filters rows after it.
 */
function expectOnlyDueAtIndexConditions(plans: string[][]): void {
  for (const plan of plans) {
    expect(plan).toContainEqual(
      expect.stringMatching(/^Index Scan( Backward)? using Task_ownerId_dueAt_coalesced_id_idx$/),
    );
  }
}

describe.each(sorts.flatMap((sort) => orders.map((order) => ({ sort, order }))))(
  'listing by $sort $order',
  ({ sort, order }) => {
    // By due date, 10 000 rows deep is among the tasks without one (keyed as infinity) in
    // ascending order, and past all of them in descending order.
    it('reads the first page and a page 10 000 rows deep from an index, without sorting, custom and generic plans alike', async () => {
      const plans = await firstAndDeepPlans({ sort, order }, 50);
      expectIndexScanWithoutSort(plans);
      if (sort === 'dueAt') expectOnlyDueAtIndexConditions(plans);
    });
  },
);

// About 7 800, 6 600 and 5 900 of the owner's tasks match: deep enough for a page 4 000 rows down.
const dueFilters = {
  dueAfter: { dueAfter: new Date('2026-03-01T00:00:00Z') },
  dueBefore: { dueBefore: new Date('2026-11-01T00:00:00Z') },
  'both filters': {
    dueAfter: new Date('2026-03-01T00:00:00Z'),
    dueBefore: new Date('2026-12-01T00:00:00Z'),
  },
};

describe.each(
  Object.entries(dueFilters).flatMap(([name, filter]) =>
    sorts.flatMap((sort) => orders.map((order) => ({ name, filter, sort, order }))),
  ),
)('listing by $sort $order with $name', ({ filter, sort, order }) => {
  it('reads the first page and a page 4 000 rows deep from an index, without sorting, custom and generic plans alike', async () => {
    const plans = await firstAndDeepPlans({ ...filter, sort, order }, 20);
    expectIndexScanWithoutSort(plans);
    if (sort === 'dueAt') expectOnlyDueAtIndexConditions(plans);
  });
});
