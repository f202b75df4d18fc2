import type { RouterInputs } from '@tasks/client';
import { api, onSessionEnded } from './api.js';
import { element, whileBusy } from './dom.js';
import { clearMessages, showError, showNotice } from './messages.js';
import { session } from './session.js';
import { clearTasks, showTasks } from './task-list.js';
import { keepRelativeTimesCurrent } from './time.js';
import { commitPending, dropPending } from './undo.js';
import './style.css';

const ui = {
  authView: element('auth-view', HTMLElement),
  authForm: element('auth-form', HTMLFormElement),
  email: element('email', HTMLInputElement),
  password: element('password', HTMLInputElement),
  account: element('account', HTMLDivElement),
  accountEmail: element('account-email', HTMLElement),
  signOut: element('sign-out', HTMLButtonElement),
  tasksView: element('tasks-view', HTMLElement),
};

function showSignedOut(): void {
  dropPending();
  clearTasks();
  ui.tasksView.hidden = true;
  ui.account.hidden = true;
  ui.authView.hidden = false;
  ui.password.value = '';
  ui.email.focus();
}

function showSignedIn(email: string): void {
  ui.authView.hidden = true;
  ui.tasksView.hidden = false;
  ui.account.hidden = false;
  ui.accountEmail.textContent = email;
  ui.accountEmail.title = email;
  showTasks();
}

onSessionEnded(() => {
  showSignedOut();
  showNotice('Your session has ended. Please sign in again.');
});

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
  void whileBusy(buttons, async () => {
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
  void whileBusy([ui.signOut], async () => {
    // A delete still waiting for its undo is what the user asked for: it goes out while the
    // session that may send it is still open.
    await commitPending();
    const refreshToken = session.get()?.refreshToken;
    session.set(null);
    showSignedOut();
    showNotice('You are signed out.');
    // Revokes the session on the server too, so its tokens stop working everywhere at once.
    if (refreshToken) void api.auth.logout.mutate({ refreshToken }).catch(() => undefined);
  });
});

keepRelativeTimesCurrent();
const stored = session.get();
if (stored) showSignedIn(stored.email);
else showSignedOut();
