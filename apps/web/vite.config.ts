import { defineConfig } from 'vite';

// `pnpm dev` serves the app here; the API's CORS_ORIGINS allows both spellings of this origin.
export default defineConfig({
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  build: { target: 'es2022', sourcemap: true },
});
