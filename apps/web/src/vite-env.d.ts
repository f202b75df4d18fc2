/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_API_URL?: string;
  readonly VITE_PAGE_SIZE?: string;
  readonly VITE_UNDO_MS?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
