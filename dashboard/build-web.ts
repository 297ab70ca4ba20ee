// Bundles the dashboard's browser app (web/src/app.ts with cytoscape, uPlot and their
// CSS) into static assets: app.js, app.css and index.html in one folder, served by the
// dashboard component. Run by `npm run build` (into dist/dashboard/web) and by the
// browser tests (into a temporary folder).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));

export async function buildWeb(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(here, "web", "src", "app.ts") },
    bundle: true,
    format: "esm",
    target: ["chrome120", "firefox115"],
    minify: true,
    sourcemap: false,
    outdir: outDir,
    logLevel: "warning",
    legalComments: "linked",
  });
  // app.css is esbuild's (uPlot's CSS) followed by the app's own.
  const bundled = join(outDir, "app.css");
  let css = "";
  try {
    css = readFileSync(bundled, "utf8");
  } catch {
    css = "";
  }
  writeFileSync(bundled, css + readFileSync(join(here, "web", "app.css"), "utf8"));
  copyFileSync(join(here, "web", "index.html"), join(outDir, "index.html"));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWeb(resolve(process.argv[2] ?? join(here, "..", "dist", "dashboard", "web")));
}
