import { defineConfig, type ProxyOptions } from 'vite';

/** Where `pnpm dev`'s API listens; the dev runner sets it, this default is the API's own. */
const apiOrigin = process.env.API_ORIGIN ?? 'http://127.0.0.1:3000';

/**
 * Every path the API answers: the app calls its own origin (no VITE_API_URL), so these reach the
 * API through Vite and the browser needs no CORS. The API's docs are reachable the same way.
 */
export const apiPaths = [
  '/trpc',
  '/auth',
  '/tasks',
  '/webhooks',
  '/health',
  '/ready',
  '/openapi.json',
  '/docs',
];
const proxy = Object.fromEntries(
  apiPaths.map((path): [string, ProxyOptions] => [path, { target: apiOrigin }]),
);

export default defineConfig({
  server: {
    host: '127.0.0.1',
    port: Number(process.env.WEB_PORT ?? 5173),
    strictPort: true,
    proxy,
  },
  // `vite preview` of a bundle built without VITE_API_URL calls its own origin too.
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, proxy },
  build: { target: 'es2022', sourcemap: true },
});
