import { element } from './dom.js';

/** The views of the page; one shows at a time. */
const views = {
  signIn: element('auth-view', HTMLElement),
  tasks: element('tasks-view', HTMLElement),
  /** Forgotten password, new password, email confirmation: built by account-pages.ts. */
  account: element('account-page', HTMLElement),
};

export type View = keyof typeof views;

export function shownView(): View | undefined {
  return (Object.keys(views) as View[]).find((name) => !views[name].hidden);
}

/** Shows `name`'s view and hides the others; an account page left behind is emptied. */
export function showView(name: View): void {
  for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
  if (name === 'account') return;
  // A form of it left in the page would share its labels ("Email") with the sign-in form.
  views.account.replaceChildren();
  document.title = 'Tasks';
}
