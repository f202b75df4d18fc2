import type { RouterOutputs } from '@tasks/client';
import { api } from './api.js';
import { create, element } from './dom.js';
import { describeError, type DescribedError } from './errors.js';

/** One create, update or delete of a task, as the change feed reports it. */
type TaskChange = RouterOutputs['tasks']['changes']['items'][number];

/** What the task list does with the feed. */
export interface FeedHandlers {
  /**
   * Lists the tasks afresh. Called after each new cursor is taken and before any change after it
   * is delivered, so the listing and the changes that follow it leave no gap between them.
   */
  reload(): void;
  /** One change, in the order they happened; around a cursor one may come twice. */
  apply(change: TaskChange): void;
}

type FeedState = 'off' | 'connecting' | 'live' | 'reconnecting';

/** One sign-in's following of the feed; a newer one (or none) makes its callbacks inert. */
interface Follower {
  handlers: FeedHandlers;
  /** Where a new subscription resumes: the last change received, else the cursor taken. */
  resumeFrom: string | undefined;
  /** Whether `reload` has run: a list is on screen, stale or not. */
  listed: boolean;
  subscription: { unsubscribe(): void } | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Attempts that failed in a row, for the back-off. */
  failures: number;
}

const indicator = element('live-status', HTMLParagraphElement);

/**
 * A drop that heals within this long (the client reconnects by itself after a network blip or an
 * idle timeout) is not worth showing, nor announcing to a screen reader.
 */
const quietReconnectMs = 2_000;
const maxRetryDelayMs = 30_000;

let follower: Follower | undefined;
let indicatorTimer: ReturnType<typeof setTimeout> | undefined;

const indicatorTexts: Record<Exclude<FeedState, 'off'>, { shown: string; spoken: string }> = {
  connecting: { shown: 'Connecting…', spoken: ': changes made elsewhere will show up here.' },
  live: { shown: 'Live', spoken: ': changes made elsewhere show up here as they happen.' },
  reconnecting: {
    shown: 'Reconnecting…',
    spoken: ': changes made elsewhere will show up once connected again.',
  },
};

function renderIndicator(state: FeedState): void {
  // Rewriting the same words would make some screen readers say them again.
  if (indicator.dataset.state === state) return;
  indicator.dataset.state = state;
  indicator.hidden = state === 'off';
  if (state === 'off') {
    indicator.replaceChildren();
    return;
  }
  const { shown, spoken } = indicatorTexts[state];
  indicator.replaceChildren(shown, create('span', { class: 'visually-hidden' }, spoken));
}

/** Shows `state`; one that is not live only once it has lasted a moment. */
function showState(state: FeedState): void {
  clearTimeout(indicatorTimer);
  if (state === 'live' || state === 'off') renderIndicator(state);
  else {
    indicatorTimer = setTimeout(() => {
      renderIndicator(state);
    }, quietReconnectMs);
  }
}

const isCurrent = (candidate: Follower) => candidate === follower;

/** Up to 30 s, doubling, jittered so that tabs dropped together do not come back together. */
function retryDelayMs(failures: number): number {
  const ceiling = Math.min(maxRetryDelayMs, 1_000 * 2 ** failures);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

/** What is tried again: taking a cursor (async) or subscribing. */
type Attempt = (following: Follower) => Promise<void> | void;

function retryLater(following: Follower, attempt: Attempt, delayMs: number): void {
  following.failures += 1;
  showState('reconnecting');
  following.retryTimer = setTimeout(() => {
    if (isCurrent(following)) void attempt(following);
  }, delayMs);
}

/** Takes a cursor, lists the tasks, then follows the changes after the cursor. */
async function startFromNow(following: Follower): Promise<void> {
  let cursor: string;
  try {
    cursor = (await api.tasks.changes.query({})).nextCursor;
  } catch {
    if (!isCurrent(following)) return;
    // The tasks are worth showing meanwhile; once a cursor comes they are listed again after it,
    // so that nothing changed in between is missed.
    if (!following.listed) list(following);
    retryLater(following, startFromNow, retryDelayMs(following.failures));
    return;
  }
  if (!isCurrent(following)) return;
  following.resumeFrom = cursor;
  list(following);
  subscribe(following);
}

function list(following: Follower): void {
  following.listed = true;
  following.handlers.reload();
}

function subscribe(following: Follower): void {
  following.subscription = api.tasks.onChange.subscribe(
    { lastEventId: following.resumeFrom },
    {
      onConnectionStateChange(connection) {
        if (!isCurrent(following)) return;
        if (connection.state === 'pending') {
          following.failures = 0;
          showState('live');
        } else if (connection.state === 'connecting' && connection.error !== null) {
          showState('reconnecting');
        }
      },
      onData({ id, data }) {
        if (!isCurrent(following)) return;
        following.resumeFrom = id;
        following.handlers.apply(data);
      },
      onError(error) {
        if (!isCurrent(following)) return;
        following.subscription = undefined;
        recover(following, describeError(error).code);
      },
      // The server ended the stream (it is shutting down): another instance takes it up.
      onComplete() {
        if (!isCurrent(following)) return;
        following.subscription = undefined;
        retryLater(following, subscribe, retryDelayMs(following.failures));
      },
    },
  );
}

function recover(following: Follower, code: DescribedError['code']): void {
  if (code === 'CHANGES_EXPIRED') {
    // The cursor is older than the changes kept (a laptop asleep for a week): start over.
    showState('reconnecting');
    void startFromNow(following);
    return;
  }
  // The access token expired (or anything else went wrong): resubscribe from the last change
  // received. The client answers the new subscription's 401 by renewing the token through the
  // app's refresh (api.ts), shared with every other call, and retries it; a session that cannot
  // be renewed signs the user out, which stops this follower.
  const delayMs =
    code === 'UNAUTHENTICATED' && following.failures === 0 ? 0 : retryDelayMs(following.failures);
  retryLater(following, subscribe, delayMs);
}

/**
 * Follows the task changes of the signed-in user: takes a cursor, has the list loaded after it,
 * then applies each change after it, resuming after the last one across drops, expired tokens
 * and server restarts. The indicator says whether changes arrive.
 */
export function followChanges(handlers: FeedHandlers): void {
  stopFollowing();
  const following: Follower = {
    handlers,
    resumeFrom: undefined,
    listed: false,
    subscription: undefined,
    retryTimer: undefined,
    failures: 0,
  };
  follower = following;
  showState('connecting');
  void startFromNow(following);
}

/** Signed out, or the list is gone: no more changes, no more retries. */
export function stopFollowing(): void {
  const stopped = follower;
  // Cleared first: unsubscribing completes the subscription, which must not retry.
  follower = undefined;
  showState('off');
  if (stopped === undefined) return;
  clearTimeout(stopped.retryTimer);
  stopped.subscription?.unsubscribe();
}
