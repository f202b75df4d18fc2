import type { RouterInputs } from '@tasks/client';
import { showForgotPassword, showResetPassword, showVerifyEmail } from './account-pages.js';
import { api, onSessionEnded } from './api.js';
import { endSession, resumeSession, startSession } from './auth.js';
import { element, whileBusy } from './dom.js';
import { clearMessages, showError, showNotice } from './messages.js';
import { currentPage, navigate, onNavigate, settleAt, takeLinkToken, type Page } from './router.js';
import { session } from './session.js';
import { clearTasks, showTasks } from './task-list.js';
import { keepRelativeTimesCurrent } from './time.js';
import { commitPending, dropPending } from './undo.js';
import { checkVerification, forgetReminder, remindToVerify } from './verify-reminder.js';
import { showView, shownView } from './views.js';
import './style.css';

const ui = {
  authForm: element('auth-form', HTMLFormElement),
  email: element('email', HTMLInputElement),
  password: element('password', HTMLInputElement),
  account: element('account', HTMLDivElement),
  accountEmail: element('account-email', HTMLElement),
  signOut: element('sign-out', HTMLButtonElement),
};

/** The account bar says who is signed in, on every page. */
function showAccount(): void {
  const email = session.get()?.email;
  ui.account.hidden = email === undefined;
  ui.accountEmail.textContent = email ?? '';
  ui.accountEmail.title = email ?? '';
}

function showSignedOut(): void {
  dropPending();
  clearTasks();
  forgetReminder();
  showView('signIn');
  showAccount();
  ui.password.value = '';
  ui.email.focus();
}

/** The tasks of the signed-in user; `emailVerified` when known, else the API is asked. */
function showSignedIn(emailVerified?: boolean): void {
  showView('tasks');
  showAccount();
  showTasks();
  const email = session.get()?.email ?? '';
  if (emailVerified === undefined) void checkVerification();
  else remindToVerify({ email, emailVerified });
}

/** Leaves the tasks for another page: a delete waiting for its undo goes out, the list stops. */
function leaveTasks(): void {
  if (shownView() !== 'tasks') return;
  void commitPending();
  clearTasks();
}

function passwordReset(): void {
  // The reset ended every session, this tab's too if it had one.
  session.set(null);
  navigate('home', { replace: true });
  showNotice('Your password has been reset. Sign in with the new one.');
}

function emailVerified(already: boolean): void {
  navigate('home', { replace: true });
  if (already) showNotice('Your email address is confirmed already.');
  else if (session.get()) showNotice('Your email address is confirmed. Thank you!');
  else showNotice('Your email address is confirmed. Sign in to continue.');
}

/** Shows `page` for whoever is signed in; `token` is that of the mailed link the page opened. */
function showPage(page: Page, token: string | null = null): void {
  const signedIn = session.get() !== null;
  // Signed in, there is no password to forget: the tasks stay.
  if (page === 'forgot-password' && signedIn) {
    navigate('home', { replace: true });
    return;
  }
  if (page !== 'home') leaveTasks();
  switch (page) {
    case 'forgot-password':
      showForgotPassword(ui.email.value.trim());
      break;
    case 'reset-password':
      showResetPassword(token, passwordReset);
      showAccount();
      break;
    case 'verify-email':
      showVerifyEmail(token, emailVerified);
      showAccount();
      break;
    case 'home':
      if (signedIn && shownView() !== 'tasks') showSignedIn();
      else if (!signedIn && shownView() !== 'signIn') showSignedOut();
      break;
  }
}

onNavigate(showPage);

onSessionEnded(() => {
  settleAt('home');
  showSignedOut();
  showNotice('Your session has ended. Please sign in again.');
});

async function signIn(credentials: RouterInputs['auth']['login']): Promise<void> {
  const me = await startSession(credentials);
  showSignedIn(me.emailVerified);
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
    session.set(null);
    settleAt('home');
    showSignedOut();
    showNotice('You are signed out.');
    // Revokes the session on the server too, so its tokens stop working everywhere at once, and
    // clears the refresh cookie, so a reload stays signed out.
    void endSession().catch(() => undefined);
  });
});

keepRelativeTimesCurrent();
const page = currentPage();
// The token of a mailed link is read once, as the page opens, and leaves the address bar.
const linkToken = page === 'reset-password' || page === 'verify-email' ? takeLinkToken() : null;
// Nothing shows until the refresh cookie has said whether someone is signed in: a reload keeps
// the session without showing the sign-in form first.
void resumeSession()
  .catch((error: unknown) => {
    showError(error);
    return null;
  })
  .then((account) => {
    // What the account said spares the tasks another question about it.
    if (page === 'home' && account) showSignedIn(account.emailVerified);
    else showPage(page, linkToken);
  });
