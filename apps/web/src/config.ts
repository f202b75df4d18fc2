/** Where the API lives: `VITE_API_URL` at build (or dev) time, else the API of `pnpm dev`. */
export const apiUrl = (import.meta.env.VITE_API_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');

/** Tasks per page of the infinite list (`VITE_PAGE_SIZE`, 1-200). */
export const pageSize = Math.min(
  200,
  Math.max(1, Number(import.meta.env.VITE_PAGE_SIZE ?? 25) || 25),
);
