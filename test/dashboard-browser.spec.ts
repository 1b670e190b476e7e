import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { startDemo, type DemoProcess } from "./demo-support.ts";
import { eventually, tempDir } from "./harness.ts";

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const dir = tempDir("tide-dashboard-");
let demo: DemoProcess | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  if (demo && demo.child.exitCode === null) {
    demo.child.kill("SIGINT");
    await demo.exited;
  }
  // The screenshot stays for people to look at; the demo's state goes.
  for (const entry of readdirSync(dir)) if (entry !== "dashboard.png") rmSync(join(dir, entry), { recursive: true, force: true });
});

describe("the dashboard in a browser, during a short demo", () => {
  it("loads, shows live data in every panel, updates by itself, and is saved as a screenshot", { timeout: 150_000 }, async () => {
    expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`).toBe(true);
    demo = startDemo(dir, "--duration", "45");
    const url = await eventually(() => /Dashboard: (http:\/\/\S+)/.exec(demo!.stdout())?.[1], (u) => u !== undefined || demo!.child.exitCode !== null, 60_000, "the dashboard URL");
    expect(url, demo.stderr()).toBeDefined();

    // Root in a container: no sandbox; no GPU and no /dev/shm on small machines.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // A panel's render error is caught and sent to console.error (the other panels still draw): it fails the test too.
    // Only the live feed's reconnect attempts once the bounded demo has stopped are expected.
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      if (m.text().startsWith("Failed to load resource") && m.location().url.endsWith("/dashboard/events")) return;
      errors.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    // Nothing may come from elsewhere: the page works offline.
    const foreign: string[] = [];
    page.on("request", (r) => void (r.url().startsWith(url!) || foreign.push(r.url())));
    await page.goto(url!);
    await expect.poll(() => page.locator("#live").getAttribute("class"), { timeout: 15_000 }).toBe("on");

    // Live data: readings charts with points, edges with their link, then (as the demo goes on) training, models, tasks.
    const filled = (panel: string) => page.locator(`#${panel}`).getAttribute("data-filled");
    for (const panel of ["edges", "readings", "tasks", "delay", "utilisation", "decisions", "training", "models"]) {
      await expect.poll(() => filled(panel), { timeout: 60_000, message: `panel ${panel} has data` }).toBe("yes");
    }
    expect(await page.locator("#edges tr").count()).toBeGreaterThanOrEqual(3); // a header and two edges
    expect(await page.locator("#edges").textContent()).toContain("edge-1");
    // Each edge's link state, in the link column.
    const links = await page.locator("#edges tr").evaluateAll((rows) => rows.slice(1).map((r) => [r.cells[0]?.textContent, r.cells[1]?.textContent]));
    expect(links).toEqual([
      ["edge-1", "up"],
      ["edge-2", "up"],
    ]);
    expect(await page.locator("#readings .chart svg polyline").count()).toBeGreaterThan(0);
    expect(await page.locator("#training .loss-chart svg polyline").count()).toBe(2); // loss and validation loss
    expect(await page.locator("#tasks .card").count()).toBeGreaterThan(0);
    // Placement: each candidate with its score, and why (T_delay's terms) when hovered.
    const reasons = await page.locator("#tasks .card .why span[title]").evaluateAll((spans) => spans.map((s) => [s.textContent, s.getAttribute("title")]));
    expect(reasons.length).toBeGreaterThan(0);
    for (const [text, why] of reasons) {
      expect(text).toMatch(/^(edge-\d+|worker-demo) (\d|✗)/);
      if (!text!.includes("✗")) expect(why).toMatch(/^T_transmit [\d.]+ ms \(.+\) \+ T_compute [\d.]+ ms \(.+\) \+ T_queue [\d.]+ ms; pressure /);
    }
    const readings = Number(await page.locator("#cloud-readings").textContent());
    expect(readings).toBeGreaterThan(0);

    // It updates by itself (server-sent events), without a reload.
    const updates = Number(await page.locator("body").getAttribute("data-updates"));
    await expect.poll(async () => Number(await page.locator("#cloud-readings").textContent()), { timeout: 15_000 }).toBeGreaterThan(readings);
    expect(Number(await page.locator("body").getAttribute("data-updates"))).toBeGreaterThan(updates);
    // The rollout timeline, once the canary rollout of the first model has started.
    await expect.poll(() => page.locator("#rollout-timeline li").count(), { timeout: 30_000 }).toBeGreaterThan(0);

    const screenshot = join(dir, "dashboard.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    console.log(`dashboard screenshot: ${screenshot}`);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);

    expect(await demo.exited, demo.stderr()).toBe(0);
  });
});
