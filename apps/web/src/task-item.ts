import type { RouterOutputs } from '@tasks/client';
import { api } from './api.js';
import { create, labelled, whileBusy } from './dom.js';
import { describeError } from './errors.js';
import { clearMessages, showError, showNotice, summarize } from './messages.js';
import { timeElement } from './time.js';

export type Task = RouterOutputs['tasks']['list']['items'][number];
export type TaskStatus = Task['status'];

const statusLabels: Record<TaskStatus, string> = {
  open: 'Open',
  in_progress: 'In progress',
  done: 'Done',
};

/** What the list does for an item: the item itself knows how to edit and change status. */
export interface ListHooks {
  /** The task no longer exists on the server: take its item off the list. */
  gone(item: HTMLLIElement, task: Task): void;
  /** The user asked to delete the task. */
  delete(item: HTMLLIElement, task: Task): void;
  /**
   * Runs a write of the task and the showing of its answer. The change feed echoes the write, maybe
   * before the answer: the task's changes wait until the answer is on screen.
   */
  whileWriting<T>(taskId: string, write: () => Promise<T>): Promise<T>;
  /** The user closed the task's editor: a change that waited for it can show now. */
  editorClosed(taskId: string): void;
}

/** The task each item shows, for the list to compare versions and order against. */
const shownTasks = new WeakMap<Element, Task>();

export function taskShownBy(item: Element): Task | undefined {
  return shownTasks.get(item);
}

/** Whether the user is editing the item in place: nothing may replace it under their hands. */
export function isBeingEdited(item: Element): boolean {
  return item.querySelector('.task-editor') !== null;
}

/** The controls of an item that keep the focus when the item is rendered anew. */
type Control = 'edit' | 'status' | 'delete';

export function renderTask(task: Task, hooks: ListHooks): HTMLLIElement {
  const title = create('span', { class: 'task-title', 'data-testid': 'task-title' }, task.title);
  const details = create('div', { class: 'task-details' }, title);
  if (task.description !== null) {
    const description = create(
      'p',
      { class: 'task-description', 'data-testid': 'task-description' },
      task.description,
    );
    description.addEventListener('click', () => {
      startEditingOnClick('description');
    });
    details.append(description);
  }
  const meta = create('p', { class: 'task-meta' }, 'Created ', timeElement(task.createdAt));
  if (task.version > 1) meta.append(' · Updated ', timeElement(task.updatedAt));
  details.append(meta);

  const status = create('select', {
    'data-control': 'status',
    'aria-label': `Status of ${task.title}`,
  });
  for (const [value, label] of Object.entries(statusLabels)) {
    status.add(new Option(label, value, false, value === task.status));
  }
  const edit = create(
    'button',
    {
      type: 'button',
      class: 'secondary',
      'data-control': 'edit',
      'aria-label': `Edit ${task.title}`,
      'aria-keyshortcuts': 'F2',
    },
    'Edit',
  );
  const remove = create(
    'button',
    {
      type: 'button',
      class: 'secondary danger',
      'data-control': 'delete',
      'aria-label': `Delete ${task.title}`,
    },
    'Delete',
  );
  const actions = create('div', { class: 'task-actions' }, status, edit, remove);
  const problem = create('p', {
    class: 'task-problem',
    role: 'alert',
    'data-testid': 'task-problem',
    hidden: true,
  });
  const note = create('p', {
    class: 'task-note',
    role: 'status',
    'data-testid': 'task-note',
    hidden: true,
  });
  const item = create(
    'li',
    {
      class: `task status-${task.status}`,
      'data-testid': 'task',
      'data-task-id': task.id,
      'data-status': task.status,
    },
    details,
    actions,
    problem,
    note,
  );
  shownTasks.set(item, task);

  /** Swaps the details for an editor of title and description, and back when it closes. */
  function startEditing(field: 'title' | 'description'): void {
    const editor = createEditor(task);
    const close = () => {
      editor.form.replaceWith(details);
      actions.hidden = false;
      showNote(item, '');
      edit.focus();
      hooks.editorClosed(task.id);
    };
    editor.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void saveEdit(item, task, hooks, editor, close);
    });
    editor.form.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      close();
    });
    editor.cancel.addEventListener('click', close);
    details.replaceWith(editor.form);
    actions.hidden = true;
    editor[field].focus();
  }

  /** A click edits; a drag that selected some text to copy does not. */
  function startEditingOnClick(field: 'title' | 'description'): void {
    if (window.getSelection()?.isCollapsed === false) return;
    startEditing(field);
  }

  title.addEventListener('click', () => {
    startEditingOnClick('title');
  });
  edit.addEventListener('click', () => {
    startEditing('title');
  });
  item.addEventListener('keydown', (event) => {
    if (event.key !== 'F2' || actions.hidden) return;
    event.preventDefault();
    startEditing('title');
  });
  status.addEventListener('change', () => {
    void changeStatus(item, task, hooks, status);
  });
  remove.addEventListener('click', () => {
    hooks.delete(item, task);
  });
  return item;
}

interface Editor {
  form: HTMLFormElement;
  title: HTMLInputElement;
  description: HTMLTextAreaElement;
  save: HTMLButtonElement;
  cancel: HTMLButtonElement;
}

function createEditor(task: Task): Editor {
  const id = (part: string) => `task-${task.id}-${part}`;
  const keysHint = create(
    'p',
    { id: id('keys'), class: 'hint' },
    'Enter saves · Shift+Enter starts a new line · Esc cancels',
  );
  const title = create('input', {
    id: id('title'),
    name: 'title',
    maxlength: '200',
    autocomplete: 'off',
    required: true,
    'aria-describedby': keysHint.id,
  });
  title.value = task.title;
  const description = create('textarea', {
    id: id('description'),
    name: 'description',
    maxlength: '2000',
    rows: '3',
    'aria-describedby': keysHint.id,
  });
  description.value = task.description ?? '';
  // A task list's descriptions are short notes: Enter saves like it does in the title, and
  // Shift+Enter is there for a second line. An IME composing text keeps its own Enter.
  description.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    description.form?.requestSubmit();
  });
  const save = create('button', { type: 'submit' }, 'Save');
  const cancel = create('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const form = create(
    'form',
    { class: 'task-editor', novalidate: true },
    labelled('Title', title),
    labelled('Description', description),
    keysHint,
    create('div', { class: 'actions' }, save, cancel),
  );
  return { form, title, description, save, cancel };
}

/** Sends what the editor changed, on the condition that nobody else changed the task since. */
async function saveEdit(
  item: HTMLLIElement,
  task: Task,
  hooks: ListHooks,
  editor: Editor,
  close: () => void,
): Promise<void> {
  const title = editor.title.value.trim();
  const description = editor.description.value.trim() || null;
  const changes = {
    title: title === task.title ? undefined : title,
    description: description === task.description ? undefined : description,
  };
  if (changes.title === undefined && changes.description === undefined) {
    close();
    return;
  }
  clearMessages(editor.form);
  showProblem(item, '');
  await whileBusy([editor.save, editor.cancel], () =>
    hooks.whileWriting(task.id, async () => {
      try {
        const updated = await api.tasks.update.mutate({
          id: task.id,
          ...changes,
          expectedVersion: task.version,
        });
        replaceTask(item, updated, hooks, 'edit');
        showNotice(`Saved “${updated.title}”.`);
      } catch (error) {
        await reportFailure(item, task, hooks, error, 'edit', editor.form);
      }
    }),
  );
}

async function changeStatus(
  item: HTMLLIElement,
  task: Task,
  hooks: ListHooks,
  select: HTMLSelectElement,
): Promise<void> {
  clearMessages();
  showProblem(item, '');
  const status = select.value as TaskStatus;
  await whileBusy([select], () =>
    hooks.whileWriting(task.id, async () => {
      try {
        const updated = await api.tasks.update.mutate({
          id: task.id,
          status,
          expectedVersion: task.version,
        });
        replaceTask(item, updated, hooks, 'status');
        showNotice(`“${updated.title}” is now ${statusLabels[updated.status].toLowerCase()}.`);
      } catch (error) {
        select.value = task.status;
        await reportFailure(item, task, hooks, error, 'status');
      }
    }),
  );
}

/** Shows `message` under the task, where the user is looking; empty hides it. */
function showProblem(item: HTMLLIElement, message: string): void {
  const slot = item.querySelector<HTMLElement>('.task-problem');
  if (!slot) return;
  slot.textContent = message;
  slot.hidden = message === '';
}

/** Shows `message` on an item being edited, about the task changing under it; empty hides it. */
export function showNote(item: HTMLLIElement, message: string): void {
  const slot = item.querySelector<HTMLElement>('.task-note');
  if (!slot) return;
  slot.textContent = message;
  slot.hidden = message === '';
}

/** `task` as changed elsewhere, marked for a moment so that the eye finds what moved. */
export function renderArrivedTask(task: Task, hooks: ListHooks): HTMLLIElement {
  const item = renderTask(task, hooks);
  item.classList.add('task-arrived');
  return item;
}

/** Shows the newer version of the task in place of `item`; a control that had the focus keeps it. */
export function showChangedElsewhere(item: HTMLLIElement, task: Task, hooks: ListHooks): void {
  const focused = item.contains(document.activeElement)
    ? document.activeElement?.closest<HTMLElement>('[data-control]')?.dataset.control
    : undefined;
  const fresh = renderArrivedTask(task, hooks);
  item.replaceWith(fresh);
  if (focused !== undefined) {
    fresh.querySelector<HTMLElement>(`[data-control="${focused}"]`)?.focus();
  }
}

/** Renders `task` in place of `item`; focus that was in the item lands on `focus` in the new one. */
function replaceTask(
  item: HTMLLIElement,
  task: Task,
  hooks: ListHooks,
  focus: Control,
): HTMLLIElement {
  const fresh = renderTask(task, hooks);
  // A control disabled while its call was in flight may have dropped the focus to the body.
  const hadFocus =
    item.contains(document.activeElement) || document.activeElement === document.body;
  item.replaceWith(fresh);
  if (hadFocus) fresh.querySelector<HTMLElement>(`[data-control="${focus}"]`)?.focus();
  return fresh;
}

/**
 * A change of the task failed. Gone on the server: off the list. Changed elsewhere (412): the
 * task as it is now, with the reason under it. Anything else: the reason under the task, field
 * errors in `form`.
 */
export async function reportFailure(
  item: HTMLLIElement,
  task: Task,
  hooks: ListHooks,
  error: unknown,
  focus: Control,
  form?: HTMLFormElement,
): Promise<void> {
  const described = describeError(error);
  if (described.code === 'TASK_NOT_FOUND') {
    hooks.gone(item, task);
    showError(error);
    return;
  }
  if (described.code !== 'PRECONDITION_FAILED') {
    showProblem(item, summarize(described, form));
    return;
  }
  try {
    const current = await api.tasks.get.query({ id: task.id });
    showProblem(replaceTask(item, current, hooks, focus), described.message);
  } catch (reloadError) {
    await reportFailure(item, task, hooks, reloadError, focus);
  }
}
