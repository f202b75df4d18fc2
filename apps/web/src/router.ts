import { create } from './dom.js';

/**
 * The app's pages and their addresses. Mails from the API link to `/reset-password` and
 * `/verify-email` (its WEB_APP_URL); the sign-in form links to `/forgot-password`. Any other path
 * is the home page: the sign-in form, or the tasks once signed in. The host answers every one of
 * them with index.html (Vite does; a static host needs a fallback, see the README's "Web app").
 */
export type Page = 'home' | 'forgot-password' | 'reset-password' | 'verify-email';

const pagesByPath: Record<string, Page> = {
  '/forgot-password': 'forgot-password',
  '/reset-password': 'reset-password',
  '/verify-email': 'verify-email',
};

const pathOf = (page: Page) => (page === 'home' ? '/' : `/${page}`);

function pageAt(pathname: string): Page {
  return pagesByPath[pathname.replace(/(.)\/+$/, '$1')] ?? 'home';
}

export function currentPage(): Page {
  return pageAt(location.pathname);
}

/** Shows a page; main.ts decides how, given who is signed in. */
let showPage: (page: Page) => void = () => undefined;

export function onNavigate(listener: (page: Page) => void): void {
  showPage = listener;
}

/** Puts `page` in the address bar without showing it: the view on screen already is that page. */
export function settleAt(page: Page): void {
  if (currentPage() !== page) history.replaceState(null, '', pathOf(page));
}

/** Opens `page`, as a new entry of the history (Back returns) or in place of the current one. */
export function navigate(page: Page, { replace = false } = {}): void {
  if (replace) history.replaceState(null, '', pathOf(page));
  else if (currentPage() !== page) history.pushState(null, '', pathOf(page));
  showPage(page);
}

/**
 * The token of a mailed link (`…#token=<token>`), taken out of the address bar at once: left there
 * it would stay in the history and in bookmarks, and show in a screenshot or a shared screen.
 * The fragment never reaches a server; the page posts the token itself.
 */
export function takeLinkToken(): string | null {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (location.hash !== '') {
    history.replaceState(history.state, '', location.pathname + location.search);
  }
  return token === null || token === '' ? null : token;
}

/** A link to a page of the app: a real link (open it in a new tab, copy it), followed in place. */
export function pageLink(
  page: Page,
  text: string,
  attributes: Record<string, string | undefined> = {},
): HTMLAnchorElement {
  return create('a', { href: pathOf(page), 'data-route': true, ...attributes }, text);
}

document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[data-route]') : null;
  const modified = event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
  if (!(link instanceof HTMLAnchorElement) || event.defaultPrevented || event.button !== 0) return;
  if (modified) return;
  event.preventDefault();
  navigate(pageAt(link.pathname));
});
// Back and Forward: the page of the address, without the token of its link (taken on arrival).
window.addEventListener('popstate', () => {
  showPage(currentPage());
});
