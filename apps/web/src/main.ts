import type { RouterInputs, RouterOutputs } from '@tasks/client';
import { api, onSessionEnded } from './api.js';
import { pageSize } from './config.js';
import { describeError, type DescribedError } from './errors.js';
import { session } from './session.js';
import './style.css';

type Task = RouterOutputs['tasks']['list']['items'][number];
type TaskStatus = Task['status'];

const statusLabels: Record<TaskStatus, string> = {
  open: 'Open',
  in_progress: 'In progress',
  done: 'Done',
};

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} is missing from index.html`);
  return found;
}

const ui = {
  notice: element('notice', HTMLParagraphElement),
  error: element('error', HTMLParagraphElement),
  authView: element('auth-view', HTMLElement),
  authForm: element('auth-form', HTMLFormElement),
  email: element('email', HTMLInputElement),
  password: element('password', HTMLInputElement),
  tasksView: element('tasks-view', HTMLElement),
  accountEmail: element('account-email', HTMLElement),
  signOut: element('sign-out', HTMLButtonElement),
  createForm: element('create-form', HTMLFormElement),
  newTitle: element('new-title', HTMLInputElement),
  statusFilter: element('status-filter', HTMLSelectElement),
  search: element('search', HTMLInputElement),
  list: element('task-list', HTMLUListElement),
  listState: element('list-state', HTMLParagraphElement),
  sentinel: element('sentinel', HTMLDivElement),
};

// --- messages --------------------------------------------------------------------------------

function showNotice(text: string): void {
  ui.notice.textContent = text;
  ui.notice.hidden = text === '';
}

function clearMessages(...forms: HTMLFormElement[]): void {
  showNotice('');
  ui.error.textContent = '';
  ui.error.hidden = true;
  for (const form of forms) setFieldErrors(form, {});
}

function setFieldErrors(form: HTMLFormElement, fields: Record<string, string>): void {
  for (const slot of form.querySelectorAll<HTMLElement>('.field-error')) {
    const message = fields[slot.dataset.field ?? ''] ?? '';
    slot.textContent = message;
    slot.hidden = message === '';
    const input = form.querySelector(`[name="${slot.dataset.field ?? ''}"]`);
    if (input instanceof HTMLInputElement) {
      input.setAttribute('aria-invalid', String(message !== ''));
      if (message === '') input.removeAttribute('aria-describedby');
      else {
        slot.id ||= `${input.id}-error`;
        input.setAttribute('aria-describedby', slot.id);
      }
    }
  }
}

/** Shows a failed call: the catalogue message on top, field errors next to their inputs. */
function showError(error: unknown, form?: HTMLFormElement): DescribedError {
  const described = describeError(error);
  const fieldNames = Object.keys(described.fields);
  ui.error.textContent =
    described.code === 'VALIDATION_FAILED' && fieldNames.length > 0
      ? `${described.message} (${fieldNames.join(', ')})`
      : described.message;
  ui.error.hidden = false;
  if (form) setFieldErrors(form, described.fields);
  return described;
}

async function busy<T>(controls: (HTMLButtonElement | HTMLSelectElement)[], run: () => Promise<T>) {
  for (const control of controls) control.disabled = true;
  try {
    return await run();
  } finally {
    for (const control of controls) control.disabled = false;
  }
}

// --- views -----------------------------------------------------------------------------------

function showSignedOut(): void {
  ui.tasksView.hidden = true;
  ui.authView.hidden = false;
  ui.list.replaceChildren();
  list.generation += 1;
  ui.password.value = '';
  ui.email.focus();
}

function showSignedIn(email: string): void {
  ui.authView.hidden = true;
  ui.tasksView.hidden = false;
  ui.accountEmail.textContent = email;
  ui.statusFilter.value = '';
  ui.search.value = '';
  resetList();
  ui.newTitle.focus();
}

onSessionEnded(() => {
  showSignedOut();
  showNotice('Your session has ended. Please sign in again.');
});

// --- sign up, sign in, sign out --------------------------------------------------------------

async function signIn(credentials: RouterInputs['auth']['login']): Promise<void> {
  const pair = await api.auth.login.mutate(credentials);
  session.set({ email: credentials.email, ...pair });
  const me = await api.auth.me.query();
  session.set({ email: me.email, ...pair });
  showSignedIn(me.email);
}

ui.authForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const signingUp =
    event.submitter instanceof HTMLButtonElement && event.submitter.value === 'sign-up';
  const credentials = { email: ui.email.value.trim(), password: ui.password.value };
  const buttons = [...ui.authForm.querySelectorAll('button')];
  clearMessages(ui.authForm);
  void busy(buttons, async () => {
    try {
      if (signingUp) await api.auth.register.mutate(credentials);
      await signIn(credentials);
      showNotice(signingUp ? 'Account created. Welcome!' : '');
    } catch (error) {
      session.set(null);
      showError(error, ui.authForm);
    }
  });
});

ui.signOut.addEventListener('click', () => {
  const refreshToken = session.get()?.refreshToken;
  session.set(null);
  clearMessages(ui.createForm);
  showSignedOut();
  showNotice('You are signed out.');
  // Revokes the session on the server too, so its tokens stop working everywhere at once.
  if (refreshToken) void api.auth.logout.mutate({ refreshToken }).catch(() => undefined);
});

// --- the list: pages on the cursor, loaded as the sentinel scrolls into view -----------------

const list = {
  /** Bumped on every reset: answers of an older generation are dropped. */
  generation: 0,
  cursor: undefined as string | undefined,
  exhausted: false,
  loading: false,
  failed: false,
  sentinelVisible: false,
  count: 0,
};

function filters(): Pick<RouterInputs['tasks']['list'], 'status' | 'q'> {
  const status = ui.statusFilter.value as TaskStatus | '';
  const q = ui.search.value.trim();
  return { status: status === '' ? undefined : [status], q: q === '' ? undefined : q };
}

function updateListState(): void {
  const filtered = ui.statusFilter.value !== '' || ui.search.value.trim() !== '';
  ui.list.setAttribute('aria-busy', String(list.loading));
  if (list.loading) ui.listState.textContent = 'Loading tasks…';
  else if (list.failed) ui.listState.textContent = 'Tasks could not be loaded.';
  else if (list.count === 0 && list.exhausted)
    ui.listState.textContent = filtered ? 'No tasks match.' : 'No tasks yet. Add one above.';
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
    ui.list.append(...page.items.map(renderTask));
    list.count += page.items.length;
    list.cursor = page.nextCursor ?? undefined;
    list.exhausted = page.nextCursor === null;
  } catch (error) {
    if (generation !== list.generation) return;
    list.failed = true;
    showError(error);
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

ui.statusFilter.addEventListener('change', () => {
  clearMessages();
  resetList();
});

let searchTimer: ReturnType<typeof setTimeout> | undefined;
ui.search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    clearMessages();
    resetList();
  }, 300);
});

// --- one task --------------------------------------------------------------------------------

function renderTask(task: Task): HTMLLIElement {
  const item = document.createElement('li');
  item.className = `task status-${task.status}`;
  item.dataset.testid = 'task';
  item.dataset.taskId = task.id;
  item.dataset.status = task.status;

  const title = document.createElement('span');
  title.className = 'title';
  title.dataset.testid = 'task-title';
  title.textContent = task.title;

  const select = document.createElement('select');
  select.dataset.testid = 'task-status';
  select.setAttribute('aria-label', `Status of ${task.title}`);
  for (const [value, label] of Object.entries(statusLabels)) {
    select.add(new Option(label, value, false, value === task.status));
  }
  select.addEventListener('change', () => {
    void changeStatus(item, task, select);
  });

  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  remove.dataset.testid = 'task-delete';
  remove.textContent = 'Delete';
  remove.setAttribute('aria-label', `Delete ${task.title}`);
  remove.addEventListener('click', () => {
    void deleteTask(item, task, remove);
  });

  item.append(title, select, remove);
  return item;
}

/** After 412 (changed elsewhere) show the task as it is now; after 404 drop it. */
async function reconcile(item: HTMLLIElement, task: Task, code: string): Promise<void> {
  if (code === 'TASK_NOT_FOUND') {
    item.remove();
    list.count -= 1;
    updateListState();
  } else if (code === 'PRECONDITION_FAILED') {
    try {
      item.replaceWith(renderTask(await api.tasks.get.query({ id: task.id })));
    } catch (error) {
      showError(error);
    }
  }
}

async function changeStatus(item: HTMLLIElement, task: Task, select: HTMLSelectElement) {
  clearMessages();
  const status = select.value as TaskStatus;
  await busy([select], async () => {
    try {
      const updated = await api.tasks.update.mutate({
        id: task.id,
        status,
        expectedVersion: task.version,
      });
      item.replaceWith(renderTask(updated));
      showNotice(`“${updated.title}” is now ${statusLabels[updated.status].toLowerCase()}.`);
    } catch (error) {
      select.value = task.status;
      await reconcile(item, task, showError(error).code);
    }
  });
}

async function deleteTask(item: HTMLLIElement, task: Task, button: HTMLButtonElement) {
  clearMessages();
  await busy([button], async () => {
    try {
      await api.tasks.delete.mutate({ id: task.id, expectedVersion: task.version });
      item.remove();
      list.count -= 1;
      updateListState();
      showNotice(`Deleted “${task.title}”.`);
    } catch (error) {
      await reconcile(item, task, showError(error).code);
    }
  });
}

ui.createForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages(ui.createForm);
  const button = ui.createForm.querySelector('button');
  void busy(button ? [button] : [], async () => {
    try {
      const task = await api.tasks.create.mutate({ title: ui.newTitle.value });
      ui.newTitle.value = '';
      showNotice(`Added “${task.title}”.`);
      const { status, q } = filters();
      // Newest first: a new task that the current filters show goes on top; otherwise the list
      // as filtered is unchanged.
      if ((status === undefined || status.includes(task.status)) && q === undefined) {
        ui.list.prepend(renderTask(task));
        list.count += 1;
        updateListState();
      }
    } catch (error) {
      showError(error, ui.createForm);
    }
  });
});

// --- start -----------------------------------------------------------------------------------

const stored = session.get();
if (stored) showSignedIn(stored.email);
else showSignedOut();
