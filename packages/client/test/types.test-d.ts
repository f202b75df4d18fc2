import { describe, expectTypeOf, it } from 'vitest';
import {
  createTasksClient,
  isTasksClientError,
  type ErrorCode,
  type RouterInputs,
  type RouterOutputs,
} from '../src/index.js';

const client = createTasksClient({ url: 'http://127.0.0.1:3000/trpc', getAccessToken: () => null });

describe('types inferred from the routers', () => {
  it('infers inputs', () => {
    expectTypeOf<RouterInputs['tasks']['create']>().toHaveProperty('title').toEqualTypeOf<string>();
    expectTypeOf<RouterInputs['tasks']['create']['status']>().toEqualTypeOf<
      'open' | 'in_progress' | 'done' | undefined
    >();
    expectTypeOf(client.tasks.update.mutate)
      .parameter(0)
      .toHaveProperty('expectedVersion')
      .toEqualTypeOf<number | undefined>();
  });

  it('infers outputs, with Dates where superjson carries them', () => {
    expectTypeOf<RouterOutputs['tasks']['create']['createdAt']>().toEqualTypeOf<Date>();
    expectTypeOf(client.tasks.list.query).returns.resolves.toHaveProperty('nextCursor');
    expectTypeOf<
      RouterOutputs['tasks']['list']['items'][number]['updatedAt']
    >().toEqualTypeOf<Date>();
    expectTypeOf(client.auth.me.query).returns.resolves.toEqualTypeOf<
      RouterOutputs['auth']['me']
    >();
    expectTypeOf(client.tasks.delete.mutate).returns.resolves.toBeVoid();
  });

  it('types error.data.code as the catalogue', () => {
    const error: unknown = new Error('x');
    if (isTasksClientError(error)) {
      expectTypeOf(error.data)
        .exclude<null | undefined>()
        .toHaveProperty('code')
        .toEqualTypeOf<ErrorCode>();
    }
    expectTypeOf<'TASK_NOT_FOUND'>().toExtend<ErrorCode>();
    expectTypeOf<'NO_SUCH_CODE'>().not.toExtend<ErrorCode>();
  });
});

// Each line below must stay a compile error: if one compiles, tsc reports the unused directive
// and this file fails.
describe('contract drift is a compile error', () => {
  it('rejects a wrong input type', async () => {
    // @ts-expect-error title is a string
    await client.tasks.create.mutate({ title: 42 });
  });

  it('rejects an unknown status', async () => {
    // @ts-expect-error not a status of the catalogue
    await client.tasks.create.mutate({ title: 'x', status: 'archived' });
  });

  it('rejects a missing required field', async () => {
    // @ts-expect-error title is required
    await client.tasks.create.mutate({ description: 'no title' });
  });

  it('rejects a field the output does not have', async () => {
    const task = await client.tasks.get.query({ id: 'x' });
    // @ts-expect-error tasks have no ownerId in the public contract
    expectTypeOf(task.ownerId).toBeUnknown();
  });

  it('rejects a renamed procedure', () => {
    // @ts-expect-error the procedure is tasks.create, not tasks.add
    expectTypeOf(client.tasks).toHaveProperty('add');
  });

  it('rejects a mutation called as a query', () => {
    // @ts-expect-error create is a mutation: it has no query()
    expectTypeOf(client.tasks.create).toHaveProperty('query');
  });
});
