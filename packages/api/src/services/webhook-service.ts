import type { WebhookEndpointRecord, WebhookRepository } from '@tasks/db';
import type { Clock } from '../clock.js';
import { ApiError, validationError } from '../errors.js';
import type {
  CreateWebhookInput,
  DeliveryPage,
  ListDeliveriesInput,
  UpdateWebhookInput,
  WebhookOutput,
} from '../schemas/webhook.js';
import { generateWebhookSecret } from '../webhooks/sender.js';
import { checkWebhookUrl, type ResolveHost } from '../webhooks/url-policy.js';

export interface WebhookConfig {
  /** Accept `http:` and private, loopback and link-local receivers (development and tests). */
  allowPrivateUrls: boolean;
  /** Endpoints one user may have; one more is QUOTA_EXCEEDED. */
  maxPerUser: number;
  /** The wait before each retry: a delivery gets one attempt more than there are delays. */
  retryDelaysMs: number[];
  /** One attempt's bound: resolving, connecting, sending and reading the answer. */
  timeoutMs: number;
  /** How much of a response body an attempt keeps. */
  responseExcerptBytes: number;
  /** Finished deliveries (and their attempts) are deleted after this long. */
  deliveryRetentionMs: number;
}

/** A user's webhook endpoints: registration, changes, the delivery log and pings. */
export class WebhookService {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly clock: Clock,
    private readonly config: WebhookConfig,
    /** How hosts resolve when a URL is checked; default: the system's resolver. */
    private readonly resolve?: ResolveHost,
  ) {}

  async create(
    userId: string,
    input: CreateWebhookInput,
  ): Promise<WebhookOutput & { secret: string }> {
    await this.assertAllowedUrl(input.url);
    const created = await this.webhooks.create(
      {
        ownerId: userId,
        url: input.url,
        description: input.description ?? null,
        events: input.events ?? [],
        secret: generateWebhookSecret(),
      },
      this.config.maxPerUser,
    );
    if (created === 'limit') {
      throw new ApiError(
        'QUOTA_EXCEEDED',
        `A user has at most ${this.config.maxPerUser} webhooks; delete one first`,
      );
    }
    return { ...toWebhookOutput(created), secret: created.secret };
  }

  async list(userId: string): Promise<{ items: WebhookOutput[] }> {
    return { items: (await this.webhooks.list(userId)).map(toWebhookOutput) };
  }

  async get(userId: string, id: string): Promise<WebhookOutput> {
    return toWebhookOutput(found(await this.webhooks.find(userId, id)));
  }

  async update(userId: string, { id, ...changes }: UpdateWebhookInput): Promise<WebhookOutput> {
    if (changes.url !== undefined) await this.assertAllowedUrl(changes.url);
    return toWebhookOutput(found(await this.webhooks.update(userId, id, changes)));
  }

  async delete(userId: string, id: string): Promise<void> {
    if (!(await this.webhooks.delete(userId, id))) throw notFound();
  }

  async deliveries(userId: string, input: ListDeliveriesInput): Promise<DeliveryPage> {
    found(await this.webhooks.find(userId, input.id));
    const rows = await this.webhooks.deliveries(userId, input.id, {
      before: input.cursor,
      limit: input.limit + 1,
    });
    const items = rows.slice(0, input.limit);
    return {
      items,
      nextCursor: rows.length > input.limit ? (items.at(-1)?.id ?? null) : null,
    };
  }

  /** Queues a `webhook.ping` delivery, signed like any other, to check a receiver. */
  async ping(userId: string, id: string): Promise<{ deliveryId: string }> {
    const deliveryId = await this.webhooks.ping(userId, id, {
      type: 'webhook.ping',
      occurredAt: this.clock.now().toISOString(),
      webhookId: id,
    });
    if (!deliveryId) throw notFound();
    return { deliveryId };
  }

  private async assertAllowedUrl(url: string): Promise<void> {
    const check = await checkWebhookUrl(url, {
      allowPrivate: this.config.allowPrivateUrls,
      ...(this.resolve && { resolve: this.resolve }),
    });
    if (!check.ok) {
      throw validationError([
        { path: 'url', code: 'url_not_allowed', message: `The URL ${check.reason}` },
      ]);
    }
  }
}

const notFound = () => new ApiError('NOT_FOUND', 'No webhook of yours has this id');

function found(endpoint: WebhookEndpointRecord | null): WebhookEndpointRecord {
  if (!endpoint) throw notFound();
  return endpoint;
}

function toWebhookOutput(endpoint: WebhookEndpointRecord): WebhookOutput {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events as WebhookOutput['events'],
    status: endpoint.disabledAt ? 'disabled' : 'enabled',
    disabledReason: endpoint.disabledReason,
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
  };
}
