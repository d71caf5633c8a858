/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The API the dev server and `vite preview` forward to (the Flask app: `sixdeg serve`).
const api = process.env.SIXDEG_API || 'http://127.0.0.1:8000'
const proxy = {
  '/v1': { target: api, changeOrigin: false },
  '/healthz': { target: api },
  '/readyz': { target: api },
}

export default defineConfig({
  plugins: [vue()],
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        // cytoscape in its own chunk, loaded only by the pages that draw graphs
        advancedChunks: { groups: [{ name: 'cytoscape', test: /node_modules[\\/]cytoscape[\\/]/ }] },
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
