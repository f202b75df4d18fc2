/**
 * The signed-in session: kept in memory and mirrored to sessionStorage, so a reload of the tab
 * keeps the user signed in while a new tab (or a closed one) starts signed out. Nothing goes to
 * localStorage or cookies; any script running on this origin could still read it, which is why
 * the page loads no third-party code.
 */
export interface Session {
  email: string;
  accessToken: string;
  refreshToken: string;
}

const storageKey = 'tasks.session';

function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.email === 'string' &&
    typeof record.accessToken === 'string' &&
    typeof record.refreshToken === 'string'
  );
}

function read(): Session | null {
  try {
    const stored: unknown = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null');
    return isSession(stored) ? stored : null;
  } catch {
    return null;
  }
}

let current: Session | null = read();

export const session = {
  get(): Session | null {
    return current;
  },
  set(next: Session | null): void {
    current = next;
    try {
      if (next) sessionStorage.setItem(storageKey, JSON.stringify(next));
      else sessionStorage.removeItem(storageKey);
    } catch {
      // Storage disabled (private mode, quota): the session lives in memory for this page only.
    }
  },
  /** A refresh rotated the tokens. */
  update(tokens: { accessToken: string; refreshToken: string }): void {
    if (current) this.set({ ...current, ...tokens });
  },
};
