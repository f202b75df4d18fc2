/**
 * Build-time settings (Vite inlines `import.meta.env`). The API is on the page's own origin by
 * default, as behind `pnpm dev`'s proxy or a reverse proxy; `VITE_API_URL` points a bundle
 * deployed elsewhere at its API.
 */
export const apiUrl = (import.meta.env.VITE_API_URL ?? '').replace(/\/+$/, '');

/** A whole number from the environment, kept within bounds; a missing or bad value gets `fallback`. */
function integerSetting(value: string | undefined, fallback: number, min: number, max: number) {
  const parsed = value ? Number(value) : fallback;
  return Number.isInteger(parsed) ? Math.min(max, Math.max(min, parsed)) : fallback;
}

/** Tasks per page of the infinite list (`VITE_PAGE_SIZE`, 1-200). */
export const pageSize = integerSetting(import.meta.env.VITE_PAGE_SIZE, 25, 1, 200);

/** How long a deleted task can be brought back before the delete is sent (`VITE_UNDO_MS`). */
export const undoMs = integerSetting(import.meta.env.VITE_UNDO_MS, 5_000, 500, 60_000);
