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

  it('find a task by its upper-cased id, as a single read does', async () => {
    const { token } = await api.signUp('dana@example.com');
    const request = (batched: boolean) => api.caller(`Bearer ${token}`, { batched });
    const task = await request(false).tasks.create({ title: 'Shouted' });
    const upper = task.id.toUpperCase();
    expect(upper).not.toBe(task.id);

    const single = await request(false).tasks.get({ id: upper });
    const batch = request(true);
    const batched = await Promise.all([
      batch.tasks.get({ id: upper }),
      batch.tasks.get({ id: task.id }),
    ]);
    expect([single, ...batched]).toEqual([task, task, task]);
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

describe('a task id in upper case', () => {
  it('updates and deletes the task as the lower-case id does, alone and in a batch', async () => {
    const { token } = await api.signUp('erin@example.com');
    const request = (batched: boolean) => api.caller(`Bearer ${token}`, { batched });
    const task = await request(false).tasks.create({ title: 'Draft' });
    const upper = task.id.toUpperCase();

    const updated = await request(false).tasks.update({
      id: upper,
      status: 'done',
      expectedVersion: task.version,
    });
    expect(updated).toMatchObject({ id: task.id, status: 'done', version: task.version + 1 });
    const stale = request(false).tasks.update({
      id: upper,
      title: 'Late',
      expectedVersion: task.version,
    });
    await expect(stale).rejects.toMatchObject({ apiCode: 'PRECONDITION_FAILED' });

    const batch = request(true);
    const [renamed, read] = await Promise.all([
      batch.tasks.update({ id: upper, title: 'Final' }),
      batch.tasks.get({ id: upper }),
    ]);
    expect(renamed).toMatchObject({ id: task.id, title: 'Final' });
    expect(read.id).toBe(task.id);

    await request(false).tasks.delete({ id: upper });
    await expect(request(false).tasks.get({ id: task.id })).rejects.toMatchObject({
      apiCode: 'TASK_NOT_FOUND',
    });
    await expect(request(true).tasks.delete({ id: upper })).rejects.toMatchObject({
      apiCode: 'TASK_NOT_FOUND',
    });
  });
});
