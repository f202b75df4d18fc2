import { Prisma, type PrismaClient } from '@tasks/db';
import { z } from 'zod';
import { ApiError, validationError } from '../errors.js';
import type {
  CreateTaskInput,
  ListTasksInput,
  TaskOutput,
  TaskPage,
  UpdateTaskInput,
} from '../schemas/task.js';

const taskSelect = {
  id: true,
  title: true,
  description: true,
  status: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.TaskSelect;

/** Position after the last row of a page: newest-first order is (createdAt desc, id desc). */
const cursorSchema = z.tuple([z.iso.datetime(), z.uuid()]);
type CursorPosition = { createdAt: Date; id: string };

function encodeCursor({ createdAt, id }: CursorPosition): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string): CursorPosition {
  try {
    const [createdAt, id] = cursorSchema.parse(
      JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')),
    );
    return { createdAt: new Date(createdAt), id };
  } catch {
    throw validationError([
      { path: 'cursor', code: 'invalid_cursor', message: 'Not a cursor returned by this API' },
    ]);
  }
}

function isRecordNotFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
}

const taskNotFound = () => new ApiError('TASK_NOT_FOUND', 'No task with this id');

/** Every method is scoped to one owner: another user's task is indistinguishable from none. */
export class TaskService {
  constructor(private readonly db: PrismaClient) {}

  create(ownerId: string, input: CreateTaskInput): Promise<TaskOutput> {
    return this.db.task.create({ data: { ...input, ownerId }, select: taskSelect });
  }

  async get(ownerId: string, id: string): Promise<TaskOutput> {
    const task = await this.db.task.findFirst({ where: { id, ownerId }, select: taskSelect });
    if (!task) throw taskNotFound();
    return task;
  }

  async update(ownerId: string, { id, ...changes }: UpdateTaskInput): Promise<TaskOutput> {
    try {
      return await this.db.task.update({
        where: { id, ownerId },
        data: changes,
        select: taskSelect,
      });
    } catch (error) {
      if (isRecordNotFound(error)) throw taskNotFound();
      throw error;
    }
  }

  async delete(ownerId: string, id: string): Promise<void> {
    const { count } = await this.db.task.deleteMany({ where: { id, ownerId } });
    if (count === 0) throw taskNotFound();
  }

  /** Newest first, keyset-paginated: a page costs the same however deep it is. */
  async list(ownerId: string, { limit, cursor }: ListTasksInput): Promise<TaskPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = await this.db.task.findMany({
      where: {
        ownerId,
        ...(after && {
          OR: [
            { createdAt: { lt: after.createdAt } },
            { createdAt: after.createdAt, id: { lt: after.id } },
          ],
        }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      select: taskSelect,
    });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }
}
