/**
 * The baseline of `pnpm bench`: the REST routes it measures, written by hand on Fastify 5 + pg.
 * Same contract, same work per request as the API (JWT verification with a KeyObject, HS256,
 * issuer and audience; the session row lookup, skipped for SESSION_CACHE_MS after it found the
 * session open; the task query scoped by owner; bcrypt over the
 * SHA-256 prehash), but with no framework layers: named prepared statements and response schemas
 * for fast serialization. Not a product: just enough validation to answer the benchmark honestly.
 *
 * Env: PORT, HOST (127.0.0.1), DATABASE_URL, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE,
 * ACCESS_TOKEN_TTL_SECONDS (900), REFRESH_TOKEN_TTL_SECONDS (30 days), DB_POOL_SIZE (10),
 * SESSION_CACHE_MS (1000).
 */
import { createHash, createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import bcrypt from 'bcrypt';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const env = process.env;
const databaseUrl = env.DATABASE_URL;
const secret = env.JWT_SECRET;
if (!databaseUrl || !secret) throw new Error('DATABASE_URL and JWT_SECRET are required');
const issuer = env.JWT_ISSUER ?? 'tasks-api';
const audience = env.JWT_AUDIENCE ?? 'tasks-api';
const accessTtlSeconds = Number(env.ACCESS_TOKEN_TTL_SECONDS ?? 900);
const refreshTtlSeconds = Number(env.REFRESH_TOKEN_TTL_SECONDS ?? 30 * 86_400);
const key = createSecretKey(Buffer.from(secret, 'utf8'));
const sessionCacheMs = Number(env.SESSION_CACHE_MS ?? 1000);
/** Session id -> until when it counts as open without a query (no revocation in the benchmark). */
const openSessions = new Map<string, number>();

const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(env.DB_POOL_SIZE ?? 10) });

/** UUIDv7, as Prisma's `uuid(7)` default: 48-bit milliseconds, version, variant, randomness. */
function uuidv7(): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const taskColumns = 'id, title, description, status, version, "createdAt", "updatedAt"';

/** Named queries: parsed and planned once per connection. */
const sql = {
  session: {
    name: 'session',
    text: 'SELECT id FROM "Session" WHERE id = $1 AND "userId" = $2 AND "revokedAt" IS NULL AND "expiresAt" > now()',
  },
  user: { name: 'user', text: 'SELECT id, "passwordHash" FROM "User" WHERE email = $1' },
  openSession: {
    name: 'open-session',
    text: `WITH session AS (
             INSERT INTO "Session" (id, "userId", "expiresAt") VALUES ($1, $2, $3) RETURNING id
           )
           INSERT INTO "RefreshToken" (id, "sessionId", "tokenHash")
           SELECT $4, id, $5 FROM session`,
  },
  getTask: {
    name: 'get-task',
    text: `SELECT ${taskColumns} FROM "Task" WHERE id = $1 AND "ownerId" = $2`,
  },
  firstPage: {
    name: 'first-page',
    text: `SELECT ${taskColumns} FROM "Task" WHERE "ownerId" = $1
           ORDER BY "createdAt" DESC, id DESC LIMIT $2`,
  },
  nextPage: {
    name: 'next-page',
    text: `SELECT ${taskColumns} FROM "Task"
           WHERE "ownerId" = $1 AND "createdAt" <= $2 AND ("createdAt" < $2 OR id < $3)
           ORDER BY "createdAt" DESC, id DESC LIMIT $4`,
  },
  createTask: {
    name: 'create-task',
    text: `INSERT INTO "Task" (id, "ownerId", title, description, status, "updatedAt")
           VALUES ($1, $2, $3, $4, COALESCE($5::"TaskStatus", 'open'), now())
           RETURNING ${taskColumns}`,
  },
  updateTask: {
    name: 'update-task',
    text: `UPDATE "Task" SET
             title = COALESCE($3, title),
             description = CASE WHEN $4::boolean THEN $5 ELSE description END,
             status = COALESCE($6::"TaskStatus", status),
             version = version + 1,
             "updatedAt" = now()
           WHERE id = $1 AND "ownerId" = $2 AND ($7::int IS NULL OR version = $7)
           RETURNING ${taskColumns}`,
  },
  taskExists: {
    name: 'task-exists',
    text: 'SELECT 1 FROM "Task" WHERE id = $1 AND "ownerId" = $2',
  },
} as const;

interface TaskRow {
  id: string;
  title: string;
  description: string | null;
  status: 'open' | 'in_progress' | 'done';
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const statuses = ['open', 'in_progress', 'done'];
const taskSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: ['string', 'null'] },
    status: { type: 'string' },
    version: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
const errorSchema = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

const app = Fastify({ logger: false });

function fail(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ code, message });
}

async function isSessionOpen(sessionId: string, userId: string): Promise<boolean> {
  if ((openSessions.get(sessionId) ?? 0) > Date.now()) return true;
  const session = await pool.query({ ...sql.session, values: [sessionId, userId] });
  if (session.rowCount === 0) return false;
  openSessions.set(sessionId, Date.now() + sessionCacheMs);
  return true;
}

/** Bearer JWT, then the session row: the same two steps as the API's `authenticate`. */
async function authenticate(request: FastifyRequest, reply: FastifyReply) {
  const match = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '');
  let userId: string | undefined;
  let sessionId: string | undefined;
  if (match?.[1]) {
    try {
      const payload = jwt.verify(match[1], key, { algorithms: ['HS256'], issuer, audience });
      if (typeof payload === 'object' && typeof payload.sub === 'string') {
        const sid: unknown = payload.sid;
        if (typeof sid === 'string') [userId, sessionId] = [payload.sub, sid];
      }
    } catch {
      // invalid, expired or foreign: answered below
    }
  }
  if (!userId || !sessionId || !(await isSessionOpen(sessionId, userId))) {
    return fail(reply, 401, 'UNAUTHENTICATED', 'The access token is invalid or expired');
  }
  request.userId = userId;
}

declare module 'fastify' {
  interface FastifyRequest {
    userId: string;
  }
}
app.decorateRequest('userId', '');

const prehash = (password: string) =>
  createHash('sha256').update(password, 'utf8').digest('base64');
let dummyHash: Promise<string> | undefined;

app.post<{ Body: { email: string; password: string } }>(
  '/auth/login',
  {
    schema: {
      body: {
        type: 'object',
        required: ['email', 'password'],
        properties: {
          email: { type: 'string', maxLength: 254 },
          password: { type: 'string', minLength: 1, maxLength: 128 },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            accessToken: { type: 'string' },
            tokenType: { type: 'string' },
            expiresIn: { type: 'integer' },
            refreshToken: { type: 'string' },
          },
        },
        401: errorSchema,
      },
    },
  },
  async (request, reply) => {
    const { email, password } = request.body;
    const { rows } = await pool.query<{ id: string; passwordHash: string }>({
      ...sql.user,
      values: [email.trim().toLowerCase()],
    });
    const user = rows[0];
    let valid = false;
    if (user) valid = await bcrypt.compare(prehash(password), user.passwordHash);
    else {
      dummyHash ??= bcrypt.hash('dummy password that never matches', 10);
      await bcrypt.compare(prehash(password), await dummyHash);
    }
    if (!user || !valid) return fail(reply, 401, 'INVALID_CREDENTIALS', 'Wrong email or password');

    const refreshToken = randomBytes(32).toString('base64url');
    const tokenHash = createHash('sha256').update(refreshToken).digest('hex');
    const sessionId = uuidv7();
    const expiresAt = new Date(Date.now() + refreshTtlSeconds * 1000);
    await pool.query({
      ...sql.openSession,
      values: [sessionId, user.id, expiresAt, uuidv7(), tokenHash],
    });
    const accessToken = jwt.sign({ sid: sessionId }, key, {
      algorithm: 'HS256',
      expiresIn: accessTtlSeconds,
      issuer,
      audience,
      subject: user.id,
      jwtid: randomUUID(),
    });
    return { accessToken, tokenType: 'Bearer', expiresIn: accessTtlSeconds, refreshToken };
  },
);

app.get<{ Params: { id: string } }>(
  '/tasks/:id',
  {
    preHandler: authenticate,
    schema: { params: idParams, response: { 200: taskSchema, 404: errorSchema } },
  },
  async (request, reply) => {
    const { rows } = await pool.query<TaskRow>({
      ...sql.getTask,
      values: [request.params.id, request.userId],
    });
    const task = rows[0];
    if (!task) return fail(reply, 404, 'TASK_NOT_FOUND', 'No task with this id');
    void reply.header('etag', `"${task.version}"`);
    return task;
  },
);

interface Cursor {
  key: string;
  id: string;
}

function decodeCursor(raw: string): Cursor | null {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const { sort, order, key: position, id } = parsed;
    if (sort !== 'createdAt' || order !== 'desc') return null;
    if (typeof position !== 'string' || typeof id !== 'string') return null;
    if (Number.isNaN(Date.parse(position))) return null;
    return { key: position, id };
  } catch {
    return null;
  }
}

app.get<{ Querystring: { limit: number; cursor?: string } }>(
  '/tasks',
  {
    preHandler: authenticate,
    schema: {
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          cursor: { type: 'string', maxLength: 1000 },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            items: { type: 'array', items: taskSchema },
            nextCursor: { type: ['string', 'null'] },
          },
        },
        400: errorSchema,
      },
    },
  },
  async (request, reply) => {
    const { limit, cursor: rawCursor } = request.query;
    let rows: TaskRow[];
    if (rawCursor === undefined) {
      ({ rows } = await pool.query<TaskRow>({
        ...sql.firstPage,
        values: [request.userId, limit + 1],
      }));
    } else {
      const cursor = decodeCursor(rawCursor);
      if (!cursor)
        return fail(reply, 400, 'VALIDATION_FAILED', 'Not a cursor returned by this API');
      ({ rows } = await pool.query<TaskRow>({
        ...sql.nextPage,
        values: [request.userId, new Date(cursor.key), cursor.id, limit + 1],
      }));
    }
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    const nextCursor =
      rows.length > limit && last
        ? Buffer.from(
            JSON.stringify({
              sort: 'createdAt',
              order: 'desc',
              key: last.createdAt.toISOString(),
              id: last.id,
            }),
          ).toString('base64url')
        : null;
    return { items, nextCursor };
  },
);

const taskBody = {
  title: { type: 'string', minLength: 1, maxLength: 200 },
  description: { type: ['string', 'null'], maxLength: 2000 },
  status: { type: 'string', enum: statuses },
} as const;

interface TaskBody {
  title?: string;
  description?: string | null;
  status?: string;
}

app.post<{ Body: TaskBody & { title: string } }>(
  '/tasks',
  {
    preHandler: authenticate,
    schema: {
      body: { type: 'object', required: ['title'], properties: taskBody },
      response: { 201: taskSchema },
    },
  },
  async (request, reply) => {
    const { title, description = null, status = null } = request.body;
    const { rows } = await pool.query<TaskRow>({
      ...sql.createTask,
      values: [uuidv7(), request.userId, title.trim(), description, status],
    });
    const task = rows[0];
    if (!task) throw new Error('INSERT returned no row');
    void reply
      .code(201)
      .header('location', `/tasks/${task.id}`)
      .header('etag', `"${task.version}"`);
    return task;
  },
);

app.patch<{ Params: { id: string }; Body: TaskBody }>(
  '/tasks/:id',
  {
    preHandler: authenticate,
    schema: {
      params: idParams,
      body: { type: 'object', minProperties: 1, properties: taskBody },
      response: { 200: taskSchema, 404: errorSchema, 412: errorSchema },
    },
  },
  async (request, reply) => {
    const { title = null, description, status = null } = request.body;
    const ifMatch = request.headers['if-match'];
    const expected = ifMatch ? /^"(\d+)"$/.exec(ifMatch)?.[1] : undefined;
    if (ifMatch && ifMatch !== '*' && expected === undefined) {
      return fail(reply, 412, 'PRECONDITION_FAILED', 'The task has changed since that version');
    }
    const values = [
      request.params.id,
      request.userId,
      title?.trim() ?? null,
      description !== undefined,
      description ?? null,
      status,
      expected === undefined ? null : Number(expected),
    ];
    const { rows } = await pool.query<TaskRow>({ ...sql.updateTask, values });
    const task = rows[0];
    if (!task) {
      const exists =
        expected !== undefined &&
        (await pool.query({ ...sql.taskExists, values: [request.params.id, request.userId] }))
          .rowCount !== 0;
      return exists
        ? fail(reply, 412, 'PRECONDITION_FAILED', 'The task has changed since that version')
        : fail(reply, 404, 'TASK_NOT_FOUND', 'No task with this id');
    }
    void reply.header('etag', `"${task.version}"`);
    return task;
  },
);

app.get('/health', async () => ({ status: 'ok' }));

await app.listen({ port: Number(env.PORT ?? 3001), host: env.HOST ?? '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  });
}
