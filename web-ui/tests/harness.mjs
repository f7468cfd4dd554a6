// What the browser tests share: their environment, the result file the Python side reads, the
// browser launch (Debian's chromium through playwright-core; firefox-esr through
// puppeteer-core over WebDriver BiDi, since playwright-core drives only its own patched
// Firefox), the per-page watch for script errors, and signing in. Every wait is for what the
// page shows, never for a time.
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};

// Lines the Python side writes on stdin (e.g. "SENT" once it has sent an email).
export function stdinLines() {
  const input = createInterface({ input: process.stdin });
  const lines = [];
  let waiting = null;
  input.on("line", (l) => { if (waiting) { waiting(l); waiting = null; } else lines.push(l); });
  return {
    next: () => lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => { waiting = r; }),
    close: () => input.close(),
  };
}

// One browser run: `result` is written to $RESULT at the end, `errors` collects the pages'
// script errors (and, with errorsInResult, is result.errors itself), `page` is the page a
// failure screenshot is taken of.
export class Run {
  constructor(result, { errorsInResult = false } = {}) {
    this.url = env("WEB_URL");
    this.shots = env("SHOTS");
    mkdirSync(this.shots, { recursive: true });
    this.result = { steps: [], ...result };
    this.errors = errorsInResult ? (this.result.errors = []) : [];
    this.browser = null;
    this.page = null;
    this.stdin = null;
  }

  step(s) {
    this.result.steps.push(s);
    console.log("step: " + s);
  }

  async shot(name) {
    await this.page.screenshot({ path: join(this.shots, name + ".png"), fullPage: true });
    this.result.pages?.push(name);
  }

  // Reports the page's script errors; 4xx answers the tests provoke are logged by the browser
  // as "Failed to load resource" and are not errors. With requests, a failed request is one.
  watch(page, { requests = false } = {}) {
    page.on("pageerror", (e) => this.errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("Failed to load resource")) this.errors.push(m.text());
    });
    if (requests) {
      page.on("requestfailed", (r) => this.errors.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    }
  }

  async launchChromium() {
    this.browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true });
    return this.browser;
  }

  // A fresh context (no cookies: signed out) and its page, watched; dialogs are accepted.
  async chromiumPage(options = {}) {
    const ctx = await this.browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    this.page = await ctx.newPage();
    this.page.on("dialog", (d) => d.accept());
    this.watch(this.page, options);
    return { ctx, page: this.page };
  }

  async launchFirefox() {
    const { default: puppeteer } = await import("puppeteer-core");
    this.browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: env("FIREFOX"),
      headless: true,
      acceptInsecureCerts: true,
      extraPrefsFirefox: { "browser.shell.checkDefaultBrowser": false },
    });
    return this.browser;
  }

  async firefoxPage() {
    this.page = await this.browser.newPage();
    await this.page.setViewport({ width: 1280, height: 900 });
    this.watch(this.page);
    return this.page;
  }

  // Runs the steps; whatever happens, the browser is closed, the result written and the
  // process exits 0 only if every step passed.
  async finish(steps, failureShot = "failure") {
    try {
      await steps();
      this.result.ok = true;
    } catch (e) {
      this.result.ok = false;
      this.result.error = String(e && e.stack ? e.stack : e) + "\n" + this.errors.join("\n");
      if (this.page) {
        await this.page.screenshot({ path: join(this.shots, failureShot + ".png"), fullPage: true }).catch(() => {});
      }
    } finally {
      if (this.browser) await this.browser.close().catch(() => {});
      writeFileSync(env("RESULT"), JSON.stringify(this.result, null, 2));
      if (this.stdin) this.stdin.close();
    }
    process.exit(this.result.ok ? 0 : 1);
  }
}

// ---- playwright (chromium) ----
export const heading = (page, text) => page.getByRole("heading", { level: 1, name: text }).waitFor();

// Opens the sign-in page; returns the response (its headers are checked by the UI test).
export async function openSignIn(page, url) {
  const resp = await page.goto(url);
  await heading(page, "Sign in to Mailstead");
  return resp;
}

export async function submitSignIn(page, address, password) {
  await page.getByLabel("Email address").fill(address);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

// Signs in and waits for the first page the account sees ("Dashboard", "My account").
export async function signIn(page, url, address, password, first) {
  await openSignIn(page, url);
  await submitSignIn(page, address, password);
  await heading(page, first);
}

// ---- puppeteer (firefox) ----
// Waits until an element matching `selector` has `text` in it.
export const seeText = (page, selector, text, timeout = 20000) =>
  page.waitForFunction((s, t) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t)),
    { timeout }, selector, text);

export async function signInFirefox(page, url, address, password, first) {
  await page.goto(url);
  await seeText(page, "h1", "Sign in to Mailstead");
  await page.type("input[name=address]", address);
  await page.type("input[name=password]", password);
  await page.keyboard.press("Enter");
  await seeText(page, "h1", first);
}
