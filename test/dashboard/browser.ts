// The dashboard tests' browsers: Debian's chromium and firefox-esr (installed by
// test/setup/prepare.ts), driven headless by puppeteer-core (Chromium over CDP, Firefox
// over WebDriver BiDi), and the page helpers the unit and node tests share.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type ConsoleMessage, type Page } from "puppeteer-core";

export type BrowserKind = "chromium" | "firefox";

const EXECUTABLES: Record<BrowserKind, string> = { chromium: "chromium", "firefox": "firefox-esr" };

/** The browser's executable, or null when the machine has none (the tests then skip with the reason). */
export function browserPath(kind: BrowserKind): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${EXECUTABLES[kind]}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

export async function launch(kind: BrowserKind): Promise<Browser> {
  const executablePath = browserPath(kind);
  if (!executablePath) throw new Error(`no ${EXECUTABLES[kind]} on this machine: node test/setup/prepare.ts installs it`);
  if (kind === "firefox") return puppeteer.launch({ browser: "firefox", executablePath, headless: true, timeout: 60_000 });
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return puppeteer.launch({ browser: "chrome", executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"], timeout: 60_000 });
}

/** A 1280×800 page whose console errors and uncaught exceptions are collected. */
export async function openPage(browser: Browser, options: { dark?: boolean } = {}): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e: unknown) => errors.push(e instanceof Error ? e.message : String(e)));
  await page.setViewport({ width: 1280, height: 800 });
  if (options.dark) await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
  return { page, errors };
}

const here = dirname(fileURLToPath(import.meta.url));

/** Where screenshots go: $WEFT_TEST_ARTIFACTS/dashboard, else .cache/test-artifacts/dashboard in the clone. */
export function artifactsDir(): string {
  const dir = join(process.env.WEFT_TEST_ARTIFACTS ?? resolve(here, "..", "..", ".cache", "test-artifacts"), "dashboard");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The page's graph state (set by the app's graph view). */
export async function graphRendered(page: Page, timeout = 10_000): Promise<number> {
  await page.waitForSelector("[data-testid=graph][data-rendered=true]", { timeout });
  return (await page.evaluate("window.weftGraph?.renderMs ?? -1")) as number;
}

/**
 * Clicks a node of the graph's canvas where cytoscape drew it and waits until the side
 * panel names it: what "stays responsive" means for a user. Returns both round trips:
 * `page`, measured in the page from the press to the frame showing the selection, and
 * `driver`, from the test's click to seeing the panel (with puppeteer's own latency).
 */
export async function clickNode(page: Page, id: string): Promise<{ page: number; driver: number }> {
  // The page's own code, as text: the tests' TypeScript has no DOM types.
  const pos = (await page.evaluate(`(() => {
    const cy = window.weftGraph?.cy;
    const box = document.querySelector("[data-testid=graph]")?.getBoundingClientRect();
    if (!cy || !box) return null;
    const node = cy.getElementById(${JSON.stringify(id)});
    if (node.empty()) return null;
    // As a user would on a large mesh: zoom in on the workload, then click it.
    cy.zoom(1.5);
    cy.center(node);
    const p = node.renderedPosition();
    return { x: box.left + p.x, y: box.top + p.y };
  })()`)) as { x: number; y: number } | null;
  if (!pos) throw new Error(`no node ${id} on the graph`);
  // The zoom's redraw is done before the clock starts: the figure is the click's alone.
  await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
  const started = Date.now();
  await page.mouse.click(pos.x, pos.y);
  await page.waitForFunction(`document.querySelector("[data-testid=selected-name]")?.textContent === ${JSON.stringify(id)}`, { timeout: 5_000, polling: "mutation" });
  const driver = Date.now() - started;
  await page.waitForFunction("window.weftGraph.selectMs >= 0", { timeout: 5_000 });
  const inPage = (await page.evaluate("(() => { const v = window.weftGraph.selectMs; window.weftGraph.selectMs = -1; return v; })()")) as number;
  return { page: Math.round(inPage), driver };
}
