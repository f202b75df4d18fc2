import { api } from './api.js';
import { create, element, labelled, whileBusy } from './dom.js';
import { describeError, errorMessage, type DescribedError } from './errors.js';
import { asSentence, clearMessages, showAlert, showError, showNotice } from './messages.js';
import { pageLink } from './router.js';
import { session } from './session.js';
import { showView } from './views.js';

/**
 * The pages about the account itself, opened from the sign-in form or from a mailed link: asking
 * for a password reset, choosing the new password, confirming the email address. Each is built
 * when it opens, into the one account section of index.html.
 */
const section = element('account-page', HTMLElement);

/** Bumped whenever a page opens: an answer that arrives for a page since left changes nothing. */
let opened = 0;

/**
 * Shows `content` under `heading`, in place of whatever was on screen; returns whether this page
 * is still the one open, for the answers that arrive later.
 */
function open(heading: string, ...content: Node[]): () => boolean {
  opened += 1;
  const page = opened;
  clearMessages();
  section.replaceChildren(create('h2', { id: 'account-page-heading' }, heading), ...content);
  showView('account');
  document.title = `${heading} · Tasks`;
  return () => page === opened && !section.hidden;
}

const backToSignIn = () =>
  create('p', { class: 'page-links' }, pageLink('home', 'Back to sign in'));

/**
 * A form of one labelled field and its submit button: a submission clears the form's messages
 * and runs `submitted` with the button disabled.
 */
function oneFieldForm(
  field: HTMLElement,
  button: { label: string; testId: string },
  submitted: () => Promise<void>,
): HTMLFormElement {
  const submit = create('button', { type: 'submit', 'data-testid': button.testId }, button.label);
  const form = create(
    'form',
    { novalidate: true },
    field,
    create('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearMessages(form);
    void whileBusy([submit], submitted);
  });
  return form;
}

/** Focuses `control` once a call that disabled it is over (a disabled control drops the focus). */
function refocus(control: HTMLElement, isOpen: () => boolean): void {
  if (isOpen() && (document.activeElement === document.body || document.activeElement === null)) {
    control.focus();
  }
}

/** A mailed token that the API refused, or sent malformed (then it is not one of ours). */
function isUnusableToken(described: DescribedError, code: DescribedError['code']): boolean {
  return described.code === code || described.fields.token !== undefined;
}

/** Said when a page of a mailed link opens without its token: reloaded, or typed in by hand. */
const linkMissing = 'This page works only from the link in your email: open that link again';

// --- forgotten password -------------------------------------------------------------------------

/** The form asking for a reset link; `email` is what the sign-in form held, if anything. */
export function showForgotPassword(email: string): void {
  const intro = create(
    'p',
    { id: 'forgot-intro', class: 'hint' },
    'Enter the email address of your account: we will mail it a link to choose a new password.',
  );
  const input = create('input', {
    id: 'forgot-email',
    name: 'email',
    type: 'email',
    autocomplete: 'email',
    required: true,
    'aria-describedby': intro.id,
  });
  input.value = email;
  const form = oneFieldForm(
    labelled('Email', input),
    { label: 'Send the link', testId: 'send-reset-link' },
    async () => {
      try {
        // The same answer whatever the address: whether it has an account stays unsaid.
        const { message } = await api.auth.forgotPassword.mutate({ email: input.value.trim() });
        if (!isOpen()) return;
        showNotice(asSentence(message));
        back.querySelector('a')?.focus();
      } catch (error) {
        if (!isOpen()) return;
        showError(error, form);
        input.focus();
      }
    },
  );
  const back = backToSignIn();
  const isOpen = open('Reset your password', intro, form, back);
  input.focus();
}

// --- new password, from the mailed link ---------------------------------------------------------

/** The reset link cannot be used (`message` says why): the way to a new one. */
function showResetLinkUnusable(message: string): void {
  const askAgain = pageLink('forgot-password', 'Ask for a new link', {
    class: 'button-link',
    'data-testid': 'ask-new-link',
  });
  open(
    'Reset your password',
    create(
      'p',
      {},
      'A reset link works once and for a limited time, and asking for another one replaces it.',
    ),
    create('p', { class: 'actions' }, askAgain),
    backToSignIn(),
  );
  showAlert(message);
  askAgain.focus();
}

/**
 * The new-password form of a reset link. A reset ends every session of the account, so
 * `passwordReset` shows the sign-in form.
 */
export function showResetPassword(token: string | null, passwordReset: () => void): void {
  if (token === null) {
    showResetLinkUnusable(`${linkMissing}, or ask for a new one.`);
    return;
  }
  const hint = create(
    'p',
    { id: 'new-password-hint', class: 'hint' },
    '8 to 128 characters. Setting it signs you out everywhere.',
  );
  const input = create('input', {
    id: 'new-password',
    name: 'password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: '8',
    required: true,
    'aria-describedby': hint.id,
  });
  const form = oneFieldForm(
    labelled('New password', input, hint),
    { label: 'Set the new password', testId: 'set-password' },
    async () => {
      try {
        await api.auth.resetPassword.mutate({ token, password: input.value });
        if (isOpen()) passwordReset();
      } catch (error) {
        if (!isOpen()) return;
        const described = describeError(error);
        if (isUnusableToken(described, 'INVALID_RESET_TOKEN')) {
          showResetLinkUnusable(errorMessage('INVALID_RESET_TOKEN'));
          return;
        }
        // Too short or too long, too many attempts, no network: the link still works.
        showError(error, form);
        input.focus();
      }
    },
  );
  const isOpen = open('Choose a new password', form, backToSignIn());
  input.focus();
}

// --- email confirmation, from the mailed link ---------------------------------------------------

/** Called once the address is confirmed: by this link, or `already` before it was opened. */
export type Verified = (already: boolean) => void;

/**
 * The page of a confirmation link: posts the token at once, then hands over to `verified`, or
 * says why the link did not work and what to do instead.
 */
export function showVerifyEmail(token: string | null, verified: Verified): void {
  const isOpen = open(
    'Confirm your email address',
    create('p', { 'data-testid': 'verify-progress' }, 'Confirming your email address…'),
  );
  if (token === null) {
    void showVerifyLinkUnusable(`${linkMissing}.`, verified);
    return;
  }
  void (async () => {
    try {
      await api.auth.verifyEmail.mutate({ token });
      if (isOpen()) verified(false);
    } catch (error) {
      if (!isOpen()) return;
      const described = describeError(error);
      if (isUnusableToken(described, 'INVALID_VERIFICATION_TOKEN')) {
        await showVerifyLinkUnusable(errorMessage('INVALID_VERIFICATION_TOKEN'), verified);
      } else {
        showVerifyFailed(token, error, verified);
      }
    }
  })();
}

/** No answer, too many attempts, a fault of the server: the link may still work. */
function showVerifyFailed(token: string, error: unknown, verified: Verified): void {
  const retry = create('button', { type: 'button' }, 'Try again');
  open(
    'Confirm your email address',
    create('p', {}, 'Your email address could not be confirmed yet.'),
    create('p', { class: 'actions' }, retry),
  );
  showError(error);
  retry.focus();
  retry.addEventListener('click', () => {
    showVerifyEmail(token, verified);
  });
}

/**
 * The confirmation link cannot be used (`message` says why). Signed in, the page offers a new
 * one, unless the address is confirmed already (the link opened twice); signed out, it says
 * where to ask for one.
 */
async function showVerifyLinkUnusable(message: string, verified: Verified): Promise<void> {
  const signedIn = session.get();
  if (signedIn === null) {
    const signIn = pageLink('home', 'Sign in', { class: 'button-link' });
    open(
      'Confirm your email address',
      create(
        'p',
        {},
        'Sign in: a reminder above your tasks can send a new link while the address is not confirmed.',
      ),
      create('p', { class: 'actions' }, signIn),
    );
    showAlert(message);
    signIn.focus();
    return;
  }
  const stillOpen = open(
    'Confirm your email address',
    create('p', {}, 'Checking your email address…'),
  );
  const confirmed = await api.auth.me.query().then(
    (me) => me.emailVerified,
    () => false,
  );
  if (!stillOpen()) return;
  if (confirmed) {
    verified(true);
    return;
  }
  const resend = create(
    'button',
    { type: 'button', 'data-testid': 'verify-send-new-link' },
    'Send a new link',
  );
  const isOpen = open(
    'Confirm your email address',
    create(
      'p',
      {},
      'A new link goes to ',
      create('strong', { class: 'address' }, signedIn.email),
      '. It replaces every link mailed before.',
    ),
    create('p', { class: 'actions' }, resend),
    create('p', { class: 'page-links' }, pageLink('home', 'Go to your tasks')),
  );
  showAlert(message);
  resend.focus();
  resend.addEventListener('click', () => {
    clearMessages();
    void whileBusy([resend], async () => {
      try {
        const { message: sent } = await api.auth.resendVerification.mutate({});
        if (isOpen()) showNotice(asSentence(sent));
      } catch (error) {
        if (isOpen()) showError(error);
      }
    }).then(() => {
      refocus(resend, isOpen);
    });
  });
}
