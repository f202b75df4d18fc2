import type { SentStatement } from '@tasks/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError } from '../src/index.js';
import { createApiHarness, type ApiHarness } from './harness.js';

let api: ApiHarness;
const sent: SentStatement[] = [];

beforeAll(async () => {
  api = await createApiHarness({ onQuery: (statement) => sent.push(statement) });
});
afterAll(() => api.close());

/** Signs up `email`; each call of the result is a new request with its token. */
async function signUp(email: string, batched: boolean) {
  const { token } = await api.signUp(email);
  return () => api.caller(`Bearer ${token}`, { batched });
}

const taskReads = () => sent.filter(({ sql }) => /FROM "Task" WHERE id/.test(sql));

describe('reads of a batched request', () => {
  it('share one query, and each call still gets its own task or TASK_NOT_FOUND', async () => {
    const ann = await signUp('ann@example.com', true);
    const bob = await signUp('bob@example.com', false);
    const [first, second] = await Promise.all([
      ann().tasks.create({ title: 'First' }),
      ann().tasks.create({ title: 'Second' }),
    ]);
    const bobs = await bob().tasks.create({ title: "Bob's" });
    const unknownId = '01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10';

    sent.length = 0;
    const request = ann();
    const results = await Promise.allSettled(
      [first.id, second.id, first.id, bobs.id, unknownId].map((id) => request.tasks.get({ id })),
    );
    expect(
      results.map((result) =>
        result.status === 'fulfilled' ? result.value.title : (result.reason as ApiError).apiCode,
      ),
    ).toEqual(['First', 'Second', 'First', 'TASK_NOT_FOUND', 'TASK_NOT_FOUND']);
    expect(taskReads()).toHaveLength(1);
  });

  it('are one query each outside a batch', async () => {
    const carl = await signUp('carl@example.com', false);
    const task = await carl().tasks.create({ title: 'Alone' });
    sent.length = 0;
    const request = carl();
    await Promise.all([request.tasks.get({ id: task.id }), request.tasks.get({ id: task.id })]);
    expect(taskReads()).toHaveLength(2);
  });
});
