// The shop lives under /shop/ on the API's own origin (docs/architecture.md): one origin, no CORS.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/shop/",
  // dist/ mirrors URL paths (dist/shop/...), so a server can map it at its root (whitenoise, S3).
  build: {
    outDir: "dist/shop",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2020",
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
});
