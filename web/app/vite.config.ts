import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// The dev server forwards the API (and /app/config.json) to a running `signalink serve`,
// so `npm run dev` works against a real server without a fake config file.
const api = process.env.SIGNALINK_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/app/',
  plugins: [preact()],
  resolve: {
    alias: {
      // From source, relative to this file: the build tree keeps web/app and clients/js side by side.
      '@signalink/client': fileURLToPath(new URL('../../clients/js/src/index.ts', import.meta.url)),
    },
  },
  build: {
    target: 'es2020',
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '/api': api,
      '/app/config.json': api,
    },
  },
});
