import type { RouterInputs } from '@tasks/client';
import { api, deleteAsPageLeaves } from './api.js';
import { pageSize } from './config.js';
import { element, whileBusy } from './dom.js';
import { describeError } from './errors.js';
import { followChanges, stopFollowing } from './live-feed.js';
import { clearMessages, showError, showNotice } from './messages.js';
import { session } from './session.js';
import {
  isBeingEdited,
  renderArrivedTask,
  renderTask,
  reportFailure,
  showChangedElsewhere,
  showNote,
  taskShownBy,
  type ListHooks,
  type Task,
  type TaskStatus,
} from './task-item.js';
import { offerUndo, withdrawUndo, type Undoable } from './undo.js';

const ui = {
  createForm: element('create-form', HTMLFormElement),
  newTitle: element('new-title', HTMLInputElement),
  newDescription: element('new-description', HTMLTextAreaElement),
  filterForm: element('filter-form', HTMLFormElement),
  statusFilter: element('status-filter', HTMLSelectElement),
  search: element('search', HTMLInputElement),
  list: element('task-list', HTMLUListElement),
  listState: element('list-state', HTMLSpanElement),
  retry: element('list-retry', HTMLButtonElement),
  sentinel: element('sentinel', HTMLDivElement),
};

// --- the list: pages on the cursor, loaded as the sentinel scrolls into view -----------------

type ListFilters = Pick<RouterInputs['tasks']['list'], 'status' | 'q'>;

const list = {
  /** Bumped on every reset: answers of an older generation are dropped. */
  generation: 0,
  /**
   * The filters the list was loaded with: the form may already say otherwise while the search
   * waits for a pause, and later pages and live changes must match the first page.
   */
  filters: {} as ListFilters,
  cursor: undefined as string | undefined,
  exhausted: false,
  loading: false,
  failed: false,
  sentinelVisible: false,
  /** Tasks shown: a task waiting for its delete to become final is not. */
  count: 0,
};

/** A task deleted on screen whose delete has not reached the server yet: no page shows it. */
interface PendingDelete {
  task: Task;
  /** The delete on the undo toast, until it is sent. */
  undoable: Undoable;
}
const deleting = new Map<string, PendingDelete>();

function formFilters(): ListFilters {
  const status = ui.statusFilter.value as TaskStatus | '';
  const q = ui.search.value.trim();
  return { status: status === '' ? undefined : [status], q: q === '' ? undefined : q };
}

function updateListState(): void {
  const { status, q } = list.filters;
  ui.list.setAttribute('aria-busy', String(list.loading));
  ui.retry.hidden = !list.failed;
  if (list.loading) ui.listState.textContent = 'Loading tasks…';
  else if (list.failed) ui.listState.textContent = 'Tasks could not be loaded.';
  else if (list.count === 0 && list.exhausted)
    ui.listState.textContent = status || q ? 'No tasks match.' : 'No tasks yet. Add one above.';
  else if (list.exhausted)
    ui.listState.textContent = `${list.count} ${list.count === 1 ? 'task' : 'tasks'}`;
  else ui.listState.textContent = '';
}

/** Empties the list for a new listing with the form's filters; late answers are dropped. */
function emptyList(): void {
  list.generation += 1;
  list.filters = formFilters();
  list.cursor = undefined;
  list.exhausted = false;
  list.loading = false;
  list.failed = false;
  list.count = 0;
  ui.list.replaceChildren();
  // The new listing is asked for after every change received so far, so it already has them.
  waitingUpdates.length = 0;
  parkedUpdates.clear();
}

function resetList(): void {
  emptyList();
  void loadMore();
}

async function loadMore(): Promise<void> {
  if (list.loading || list.exhausted || list.failed || session.get() === null) return;
  const generation = list.generation;
  list.loading = true;
  updateListState();
  try {
    const page = await api.tasks.list.query({
      limit: pageSize,
      cursor: list.cursor,
      ...list.filters,
    });
    if (generation !== list.generation) return;
    const shown = page.items.filter((task) => !deleting.has(task.id));
    ui.list.append(...shown.map((task) => renderTask(task, listHooks)));
    list.count += shown.length;
    list.cursor = page.nextCursor ?? undefined;
    list.exhausted = page.nextCursor === null;
  } catch (error) {
    if (generation !== list.generation) return;
    list.failed = true;
    showError(error, ui.filterForm);
  } finally {
    if (generation === list.generation) {
      list.loading = false;
      updateListState();
    }
  }
  if (generation === list.generation) applyWaitingUpdates();
  // The observer only reports changes: if the sentinel is still on screen, the page did not
  // fill it, so fetch the next one now.
  if (generation === list.generation && list.sentinelVisible) void loadMore();
}

new IntersectionObserver(
  (entries) => {
    list.sentinelVisible = entries.some((entry) => entry.isIntersecting);
    if (list.sentinelVisible) void loadMore();
  },
  { rootMargin: '200px' },
).observe(ui.sentinel);

ui.retry.addEventListener('click', () => {
  clearMessages(ui.filterForm);
  list.failed = false;
  void loadMore();
});

/** Filters apply as they change; typing in the search waits for a pause. */
function applyFilters(): void {
  clearTimeout(searchTimer);
  clearMessages(ui.filterForm);
  resetList();
}
let searchTimer: ReturnType<typeof setTimeout> | undefined;
ui.statusFilter.addEventListener('change', applyFilters);
ui.search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(applyFilters, 300);
});
// Enter in the search applies it at once.
ui.filterForm.addEventListener('submit', (event) => {
  event.preventDefault();
  applyFilters();
});

// --- creating ----------------------------------------------------------------------------------

ui.createForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages(ui.createForm);
  const button = ui.createForm.querySelector('button');
  void whileBusy(button ? [button] : [], async () => {
    // The feed echoes the create, maybe before its answer: changes wait until the answer is in.
    createsInFlight += 1;
    try {
      const description = ui.newDescription.value.trim();
      const task = await api.tasks.create.mutate({
        title: ui.newTitle.value,
        description: description === '' ? undefined : description,
      });
      ui.createForm.reset();
      ui.newTitle.focus();
      showNotice(`Added “${task.title}”.`);
      // First in line, ahead of its own echo: it shows as this page's own task, not as news.
      waitingUpdates.unshift({ taskId: task.id, task, fromElsewhere: false });
    } catch (error) {
      showError(error, ui.createForm);
    } finally {
      createsInFlight -= 1;
      applyWaitingUpdates();
    }
  });
});

// Enter in the description adds the task too, as it saves an edited one; Shift+Enter is a new line.
ui.newDescription.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  ui.createForm.requestSubmit();
});

// --- deleting, with a few seconds to undo ------------------------------------------------------

/** Where the focus goes when `item` leaves the list: a neighbour, else the new task's title. */
function focusAfterLeaving(item: HTMLLIElement): void {
  const isShown = (candidate: Element): candidate is HTMLLIElement =>
    candidate instanceof HTMLLIElement && !candidate.hidden;
  const items = [...ui.list.children];
  const at = items.indexOf(item);
  const neighbour =
    items.slice(at + 1).find(isShown) ?? items.slice(0, Math.max(0, at)).reverse().find(isShown);
  (neighbour?.querySelector<HTMLElement>('[data-control="edit"]') ?? ui.newTitle).focus();
}

function setShown(item: HTMLLIElement, shown: boolean): void {
  if (!item.isConnected || item.hidden === !shown) return;
  item.hidden = !shown;
  list.count += shown ? 1 : -1;
  updateListState();
}

/**
 * The task leaves the list at once, but the delete is only sent when the undo toast expires:
 * the item waits hidden in its place, so Undo puts it back exactly where it was.
 */
function deleteWithUndo(item: HTMLLIElement, task: Task): void {
  clearMessages();
  focusAfterLeaving(item);
  setShown(item, false);
  const restore = () => {
    deleting.delete(task.id);
    if (item.isConnected) setShown(item, true);
    // The list was reloaded meanwhile, without this task: reload it again to put it back.
    else resetList();
    // A change made elsewhere while the task was hidden shows now.
    settle(task.id);
  };
  const forget = () => {
    deleting.delete(task.id);
    knownVersions.set(task.id, deleted);
    item.remove();
  };
  const undoable: Undoable = {
    message: `Deleted “${task.title}”`,
    commit: () =>
      whileWriting(task.id, async () => {
        try {
          await api.tasks.delete.mutate({ id: task.id, expectedVersion: task.version });
          forget();
        } catch (error) {
          // Already gone is what the user asked for; anything else brings the task back.
          if (describeError(error).code === 'TASK_NOT_FOUND') {
            forget();
            return;
          }
          restore();
          await reportFailure(item, task, listHooks, error, 'delete');
        }
      }),
    undo() {
      restore();
      showNotice(`Restored “${task.title}”.`);
      item.querySelector<HTMLElement>('[data-control="edit"]')?.focus();
    },
    leave() {
      item.remove();
      void deleteAsPageLeaves(task).finally(() => deleting.delete(task.id));
    },
  };
  deleting.set(task.id, { task, undoable });
  offerUndo(undoable);
}

// --- changes made elsewhere (another tab, another client), applied as they arrive ---------------

/** What a change does to the list: the task as it now is, or null once it is deleted. */
interface TaskUpdate {
  taskId: string;
  task: Task | null;
  /** Made by another tab or client, not answered to this page: marked for a moment when shown. */
  fromElsewhere: boolean;
}

/** The version of a deleted task: newer than any, so nothing brings it back. */
const deleted = Number.POSITIVE_INFINITY;

/**
 * The newest version of each task the list has taken into account, shown or not (filtered out,
 * not loaded yet). The feed repeats changes around a cursor and after a token renewal, and this
 * page's own writes come back through it: only a newer version changes anything.
 */
const knownVersions = new Map<string, number>();
/**
 * Updates that arrived while a page or a new task was on its way. They are applied once it is on
 * screen: a page asked for before a change must not overwrite it, nor an echo duplicate a task.
 */
const waitingUpdates: TaskUpdate[] = [];
/** Writes this page has in flight, per task. */
const writesInFlight = new Map<string, number>();
/** The newest update of each task whose item is busy: being edited, written, or deleted. */
const parkedUpdates = new Map<string, TaskUpdate>();
let createsInFlight = 0;

const changedWhileEditing =
  'This task was just changed elsewhere. Cancel to see the new version; saving yours now would be refused.';
const deletedWhileEditing =
  'This task was just deleted elsewhere, so it can no longer be saved. Copy what you need, then cancel.';

function itemFor(taskId: string): HTMLLIElement | null {
  return ui.list.querySelector<HTMLLIElement>(`:scope > [data-task-id="${CSS.escape(taskId)}"]`);
}

function isNews({ taskId, task }: TaskUpdate, item: HTMLLIElement | null): boolean {
  const shownVersion = item ? (taskShownBy(item)?.version ?? 0) : 0;
  const known = Math.max(knownVersions.get(taskId) ?? 0, shownVersion);
  return task === null ? known !== deleted : task.version > known;
}

const isNewer = (update: TaskUpdate, than: TaskUpdate) =>
  update.task === null || (than.task !== null && update.task.version > than.task.version);

/** Whether the filters the list was loaded with keep `task`, as the API decides it. */
function matchesFilters(task: Task): boolean {
  const { status, q } = list.filters;
  if (status !== undefined && !status.includes(task.status)) return false;
  if (q === undefined) return true;
  const needle = q.toLowerCase();
  return [task.title, task.description ?? ''].some((text) => text.toLowerCase().includes(needle));
}

/** The list's order, the API's: newest first, then by id. */
function sortsBefore(task: Task, other: Task): boolean {
  const newerBy = task.createdAt.getTime() - other.createdAt.getTime();
  return newerBy === 0 ? task.id > other.id : newerBy > 0;
}

/**
 * Shows a task the list does not have, where the list's order puts it. One that sorts after the
 * last task loaded is left to the page that will bring it.
 */
function placeTask(task: Task, fromElsewhere: boolean): void {
  if (!matchesFilters(task)) return;
  const next = [...ui.list.children].find((item) => {
    const shown = taskShownBy(item);
    return shown !== undefined && sortsBefore(task, shown);
  });
  if (next === undefined && !list.exhausted) return;
  const item = fromElsewhere ? renderArrivedTask(task, listHooks) : renderTask(task, listHooks);
  ui.list.insertBefore(item, next ?? null);
  list.count += 1;
  updateListState();
}

/** Takes a task off the list for a change made elsewhere; focus in it goes to a neighbour. */
function removeItem(item: HTMLLIElement, why: string): void {
  if (item.contains(document.activeElement)) {
    focusAfterLeaving(item);
    // Only then: the user was looking at it, and the focus moving needs a reason.
    showNotice(why);
  }
  setShown(item, false);
  item.remove();
}

/**
 * A task deleted elsewhere while its delete here waits on the undo toast: there is nothing left
 * to send, and nothing Undo could bring back, so the toast goes and the user is told why.
 */
function dropDeleteDoneElsewhere(taskId: string): boolean {
  const pending = deleting.get(taskId);
  if (pending === undefined || !withdrawUndo(pending.undoable)) return false;
  deleting.delete(taskId);
  knownVersions.set(taskId, deleted);
  itemFor(taskId)?.remove();
  showNotice(`“${pending.task.title}” was deleted elsewhere too: it can no longer be restored.`);
  return true;
}

function applyUpdate(update: TaskUpdate): void {
  const { taskId, task } = update;
  const item = itemFor(taskId);
  if (!isNews(update, item)) return;
  if (task === null && dropDeleteDoneElsewhere(taskId)) return;
  if (writesInFlight.has(taskId) || deleting.has(taskId) || (item && isBeingEdited(item))) {
    park(update, item);
    return;
  }
  knownVersions.set(taskId, task?.version ?? deleted);
  const title = item ? taskShownBy(item)?.title : undefined;
  if (item === null) {
    if (task !== null) placeTask(task, update.fromElsewhere);
  } else if (task === null) {
    removeItem(item, `“${title}” was deleted elsewhere.`);
  } else if (!matchesFilters(task)) {
    removeItem(item, `“${title}” was changed elsewhere and no longer matches your filters.`);
  } else {
    showChangedElsewhere(item, task, listHooks);
  }
}

/** Keeps the update until the item is free; an editor open on it says what happened. */
function park(update: TaskUpdate, item: HTMLLIElement | null): void {
  const parked = parkedUpdates.get(update.taskId);
  if (parked === undefined || isNewer(update, parked)) parkedUpdates.set(update.taskId, update);
  // While the user's own save is in flight, the change is most likely its echo: the answer tells.
  if (item && isBeingEdited(item) && !writesInFlight.has(update.taskId)) {
    showNote(item, update.task === null ? deletedWhileEditing : changedWhileEditing);
  }
}

/** The task's item is free again: its parked update applies (or parks again, if still busy). */
function settle(taskId: string): void {
  const parked = parkedUpdates.get(taskId);
  if (parked === undefined) return;
  parkedUpdates.delete(taskId);
  applyUpdate(parked);
}

function applyWaitingUpdates(): void {
  if (list.loading || createsInFlight > 0) return;
  for (const update of waitingUpdates.splice(0)) applyUpdate(update);
}

async function whileWriting<T>(taskId: string, write: () => Promise<T>): Promise<T> {
  writesInFlight.set(taskId, (writesInFlight.get(taskId) ?? 0) + 1);
  try {
    return await write();
  } finally {
    const left = (writesInFlight.get(taskId) ?? 1) - 1;
    if (left > 0) writesInFlight.set(taskId, left);
    else writesInFlight.delete(taskId);
    settle(taskId);
  }
}

const listHooks: ListHooks = {
  gone(item, task) {
    knownVersions.set(task.id, deleted);
    setShown(item, false);
    item.remove();
  },
  delete: deleteWithUndo,
  whileWriting,
  editorClosed: settle,
};

// --- showing and clearing ------------------------------------------------------------------------

/**
 * The list of a user who just signed in (or reloaded): no filters. The change feed's cursor is
 * taken first and the first page asked for after it, so every change after that page reaches it.
 */
export function showTasks(): void {
  ui.filterForm.reset();
  clearTimeout(searchTimer);
  emptyList();
  // Loading already: the cursor is on its way, and the page follows it.
  list.loading = true;
  updateListState();
  followChanges({
    reload: resetList,
    apply(change) {
      waitingUpdates.push({ taskId: change.taskId, task: change.task, fromElsewhere: true });
      applyWaitingUpdates();
    },
  });
  ui.newTitle.focus();
}

/** Signed out: nothing of the previous user stays on the page, and late answers are dropped. */
export function clearTasks(): void {
  stopFollowing();
  emptyList();
  knownVersions.clear();
  ui.createForm.reset();
  clearMessages(ui.createForm, ui.filterForm);
}
