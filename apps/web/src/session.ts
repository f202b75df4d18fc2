/**
 * The signed-in session of this page: the account's email and a short-lived access token, in
 * memory only. Nothing goes to sessionStorage, localStorage or a script-readable cookie: the
 * refresh token lives in the API's HttpOnly cookie, which no script can read, and a reload gets
 * a new access token with it (auth.ts).
 */
export interface Session {
  email: string;
  accessToken: string;
}

let current: Session | null = null;

export const session = {
  get(): Session | null {
    return current;
  },
  set(next: Session | null): void {
    current = next;
  },
  /** A refresh brought a new access token. */
  update(accessToken: string): void {
    if (current) current = { ...current, accessToken };
  },
};
