import type { RouterInputs } from '@tasks/client';
import { api, deleteAsPageLeaves } from './api.js';
import { pageSize } from './config.js';
import { element, whileBusy } from './dom.js';
import { describeError } from './errors.js';
import { clearMessages, showError, showNotice } from './messages.js';
import { session } from './session.js';
import {
  renderTask,
  reportFailure,
  type ListHooks,
  type Task,
  type TaskStatus,
} from './task-item.js';
import { offerUndo } from './undo.js';

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

const list = {
  /** Bumped on every reset: answers of an older generation are dropped. */
  generation: 0,
  cursor: undefined as string | undefined,
  exhausted: false,
  loading: false,
  failed: false,
  sentinelVisible: false,
  /** Tasks shown: a task waiting for its delete to become final is not. */
  count: 0,
};

/** Tasks deleted on screen whose delete has not reached the server yet: no page shows them. */
const deleting = new Set<string>();

function filters(): Pick<RouterInputs['tasks']['list'], 'status' | 'q'> {
  const status = ui.statusFilter.value as TaskStatus | '';
  const q = ui.search.value.trim();
  return { status: status === '' ? undefined : [status], q: q === '' ? undefined : q };
}

function updateListState(): void {
  const { status, q } = filters();
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

function resetList(): void {
  list.generation += 1;
  list.cursor = undefined;
  list.exhausted = false;
  list.loading = false;
  list.failed = false;
  list.count = 0;
  ui.list.replaceChildren();
  void loadMore();
}

async function loadMore(): Promise<void> {
  if (list.loading || list.exhausted || list.failed || session.get() === null) return;
  const generation = list.generation;
  list.loading = true;
  updateListState();
  try {
    const page = await api.tasks.list.query({ limit: pageSize, cursor: list.cursor, ...filters() });
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
    try {
      const description = ui.newDescription.value.trim();
      const task = await api.tasks.create.mutate({
        title: ui.newTitle.value,
        description: description === '' ? undefined : description,
      });
      ui.createForm.reset();
      ui.newTitle.focus();
      showNotice(`Added “${task.title}”.`);
      const { status, q } = filters();
      // Newest first: a new task that the current filters show goes on top; otherwise the list
      // as filtered is unchanged.
      if ((status === undefined || status.includes(task.status)) && q === undefined) {
        ui.list.prepend(renderTask(task, listHooks));
        list.count += 1;
        updateListState();
      }
    } catch (error) {
      showError(error, ui.createForm);
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
  deleting.add(task.id);
  const restore = () => {
    deleting.delete(task.id);
    if (item.isConnected) setShown(item, true);
    // The list was reloaded meanwhile, without this task: reload it again to put it back.
    else resetList();
  };
  offerUndo({
    message: `Deleted “${task.title}”`,
    async commit() {
      try {
        await api.tasks.delete.mutate({ id: task.id, expectedVersion: task.version });
        deleting.delete(task.id);
        item.remove();
      } catch (error) {
        // Already gone is what the user asked for; anything else brings the task back.
        if (describeError(error).code === 'TASK_NOT_FOUND') {
          deleting.delete(task.id);
          item.remove();
          return;
        }
        restore();
        await reportFailure(item, task, listHooks, error, 'delete');
      }
    },
    undo() {
      restore();
      showNotice(`Restored “${task.title}”.`);
      item.querySelector<HTMLElement>('[data-control="edit"]')?.focus();
    },
    leave() {
      item.remove();
      void deleteAsPageLeaves(task).finally(() => deleting.delete(task.id));
    },
  });
}

const listHooks: ListHooks = {
  gone(item) {
    setShown(item, false);
    item.remove();
  },
  delete: deleteWithUndo,
};

// --- showing and clearing ------------------------------------------------------------------------

/** The list of a user who just signed in (or reloaded): no filters, first page. */
export function showTasks(): void {
  ui.filterForm.reset();
  clearTimeout(searchTimer);
  resetList();
  ui.newTitle.focus();
}

/** Signed out: nothing of the previous user stays on the page, and late answers are dropped. */
export function clearTasks(): void {
  list.generation += 1;
  ui.list.replaceChildren();
  ui.createForm.reset();
  clearMessages(ui.createForm, ui.filterForm);
}
