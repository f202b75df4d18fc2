import { api } from './api.js';
import { element, whileBusy } from './dom.js';
import { asSentence, clearMessages, showError, showNotice } from './messages.js';
import { session } from './session.js';

/**
 * The reminder above the tasks while the signed-in address is not confirmed: it can mail the link
 * again, and be dismissed for as long as this tab stays signed in.
 */
const ui = {
  reminder: element('verify-reminder', HTMLElement),
  email: element('verify-reminder-email', HTMLElement),
  resend: element('verify-resend', HTMLButtonElement),
  dismiss: element('verify-dismiss', HTMLButtonElement),
  newTitle: element('new-title', HTMLInputElement),
};

/** The address whose reminder was dismissed in this tab (sessionStorage: an address, no secret). */
const dismissedKey = 'tasks.verify-reminder-dismissed';

function dismissedAddress(): string | null {
  try {
    return sessionStorage.getItem(dismissedKey);
  } catch {
    return null;
  }
}

function rememberDismissed(email: string | null): void {
  try {
    if (email === null) sessionStorage.removeItem(dismissedKey);
    else sessionStorage.setItem(dismissedKey, email);
  } catch {
    // Storage disabled: dismissed for this page only.
  }
}

/** Bumped by every check and by signing out: an older answer is dropped. */
let checks = 0;

/** Shows the reminder if the account's address is not confirmed, unless it was dismissed here. */
export function remindToVerify({
  email,
  emailVerified,
}: {
  email: string;
  emailVerified: boolean;
}) {
  checks += 1;
  ui.email.textContent = email;
  ui.reminder.hidden = emailVerified || dismissedAddress() === email;
}

/** Asks the API whether the address is confirmed by now, and shows or hides the reminder. */
export async function checkVerification(): Promise<void> {
  checks += 1;
  const check = checks;
  try {
    const me = await api.auth.me.query();
    if (check === checks && session.get() !== null) remindToVerify(me);
  } catch {
    // Not worth an error of its own: the next check (sign-in, reload, return to the tab) decides.
  }
}

/** Signed out: no reminder, and none is dismissed for the next account. */
export function forgetReminder(): void {
  checks += 1;
  ui.reminder.hidden = true;
  rememberDismissed(null);
}

ui.resend.addEventListener('click', () => {
  clearMessages();
  void whileBusy([ui.resend], async () => {
    try {
      const { message } = await api.auth.resendVerification.mutate({});
      showNotice(asSentence(message));
      // "Verified already": confirmed meanwhile (another tab, another device), so the reminder goes.
      await checkVerification();
    } catch (error) {
      showError(error);
    }
  }).then(() => {
    if (document.activeElement !== document.body) return;
    (ui.reminder.hidden ? ui.newTitle : ui.resend).focus();
  });
});

ui.dismiss.addEventListener('click', () => {
  ui.reminder.hidden = true;
  rememberDismissed(ui.email.textContent);
  ui.newTitle.focus();
});

// The link is usually opened in another tab: back in this one, the reminder goes if it worked.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && !ui.reminder.hidden) void checkVerification();
});
