import { undoMs } from './config.js';
import { element } from './dom.js';

/** A change the user can take back for a few seconds (`VITE_UNDO_MS`) before it is sent. */
export interface Undoable {
  /** What the toast says happened. */
  message: string;
  /** Makes the change final: when the toast expires, or at once when something needs it final. */
  commit(): Promise<void>;
  /** The user took the change back. */
  undo(): void;
  /** The page is going away: make the change final with a request that outlives the page. */
  leave(): void;
}

const toast = element('undo-toast', HTMLDivElement);
const toastMessage = element('undo-message', HTMLSpanElement);
const undoButton = element('undo', HTMLButtonElement);

let pending: Undoable | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let remainingMs = 0;
let runningSince = 0;
// While the pointer or the focus is on the toast, its time stands still: nobody loses the Undo
// button while reaching for it (WCAG 2.2.1, timing adjustable).
let pointerOnToast = false;
let focusOnToast = false;

/** Takes the pending change off the toast, which closes. */
function take(): Undoable | undefined {
  const taken = pending;
  pending = undefined;
  clearTimeout(timer);
  timer = undefined;
  toast.hidden = true;
  return taken;
}

function runClock(): void {
  if (pending === undefined || timer !== undefined || pointerOnToast || focusOnToast) return;
  runningSince = performance.now();
  timer = setTimeout(() => void take()?.commit(), remainingMs);
}

function holdClock(): void {
  if (timer === undefined) return;
  clearTimeout(timer);
  timer = undefined;
  remainingMs -= performance.now() - runningSince;
}

/** Offers to take `change` back; one still on offer becomes final now (one toast at a time). */
export function offerUndo(change: Undoable): void {
  void take()?.commit();
  pending = change;
  remainingMs = undoMs;
  pointerOnToast = false;
  focusOnToast = false;
  toastMessage.textContent = change.message;
  toast.hidden = false;
  runClock();
}

/** Makes the pending change final now, e.g. before signing out ends the session it needs. */
export function commitPending(): Promise<void> {
  return take()?.commit() ?? Promise.resolve();
}

/** Forgets the pending change: the session it needed is over. */
export function dropPending(): void {
  take();
}

/**
 * Takes `change` off the toast without making it final, if it is still on offer there: it happened
 * elsewhere meanwhile, so there is nothing left to send, nor to undo.
 */
export function withdrawUndo(change: Undoable): boolean {
  if (pending !== change) return false;
  take();
  return true;
}

function undo(): void {
  take()?.undo();
}

undoButton.addEventListener('click', undo);
toast.addEventListener('pointerenter', () => {
  pointerOnToast = true;
  holdClock();
});
toast.addEventListener('pointerleave', () => {
  pointerOnToast = false;
  runClock();
});
toast.addEventListener('focusin', () => {
  focusOnToast = true;
  holdClock();
});
toast.addEventListener('focusout', (event) => {
  focusOnToast = event.relatedTarget instanceof Node && toast.contains(event.relatedTarget);
  runClock();
});

const editsText = (target: EventTarget | null) =>
  target instanceof HTMLInputElement ||
  target instanceof HTMLTextAreaElement ||
  (target instanceof HTMLElement && target.isContentEditable);

// Ctrl+Z (⌘Z) undoes from anywhere but a text field, which keeps its own undo: the toast's
// button is far down the Tab order of a long list.
document.addEventListener('keydown', (event) => {
  const undoKeys =
    (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key === 'z';
  if (pending === undefined || !undoKeys || editsText(event.target)) return;
  event.preventDefault();
  undo();
});

// Hidden is the last moment a page can be relied on to run code (mobile browsers discard hidden
// tabs without `pagehide`), so a change still on offer is made final then.
function leave(): void {
  take()?.leave();
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') leave();
});
window.addEventListener('pagehide', leave);
