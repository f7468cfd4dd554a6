// The "Email security" page in a real browser (Debian's chromium through playwright-core)
// against a real mailstead-admin-api: run by tests/integration/test_web_ui_security.py,
// which checks afterwards in the store what the clicks changed. Environment:
//   WEB_URL, CHROMIUM, ADMIN, ADMIN_PASSWORD, SHOTS, RESULT (as browser.mjs)
// Every step waits for what the page shows, never for a time.
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const shots = env("SHOTS");
mkdirSync(shots, { recursive: true });
const result = { steps: [], errors: [] };
const step = (s) => {
  result.steps.push(s);
  console.log("step: " + s);
};

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true });
let page;
try {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.on("dialog", (d) => d.accept());
  page.on("pageerror", (e) => result.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) result.errors.push(m.text()); });
  const heading = (text) => page.getByRole("heading", { level: 1, name: text }).waitFor();
  const form = (name) => page.getByRole("form", { name, exact: true });

  await page.goto(env("WEB_URL"));
  await heading("Sign in to Mailstead");
  await page.getByLabel("Email address").fill(env("ADMIN"));
  await page.getByLabel("Password").fill(env("ADMIN_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await heading("Dashboard");
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Email security", exact: true }).click();
  await heading("Email security");
  // the policy in force, from GET /policy (the test's [dnsbl] and [spam] settings)
  await page.getByRole("cell", { name: /bl\.test \(weight 2\)/ }).waitFor();
  await page.getByRole("cell", { name: /Junk from score 6/ }).waitFor();
  await page.getByRole("cell", { name: "not verified" }).waitFor();
  step("policy shown");

  // DMARC overrides: a bad domain is refused with the API's message, then two are added
  const of = form("Add a DMARC override");
  await of.getByLabel("Sender domain").fill("bad..example");
  await of.getByRole("button", { name: "Save override" }).click();
  await of.locator(".field-error, .form-error").first().waitFor();
  step("bad override domain refused");
  await of.getByLabel("Sender domain").fill("Partner.Example");
  await of.getByLabel("On a DMARC result").selectOption("reject");
  await of.getByRole("button", { name: "Save override" }).click();
  await page.getByRole("rowheader", { name: "partner.example" }).waitFor();
  await of.getByLabel("Sender domain").fill("lists.example");
  await of.getByLabel("On a DMARC result").selectOption("none");
  await of.getByRole("button", { name: "Save override" }).click();
  await page.getByRole("rowheader", { name: "lists.example" }).waitFor();
  step("overrides added");
  await page.getByRole("row", { name: /partner\.example/ }).getByRole("button", { name: "Remove" }).click();
  await page.getByRole("rowheader", { name: "partner.example" }).waitFor({ state: "detached" });
  step("override removed");

  // a block rule for a network, for one user
  const rf = form("Add a rule");
  await rf.getByLabel("List").selectOption("block");
  await rf.getByLabel("IP, CIDR range, domain or address").fill("192.0.2.0/24");
  await rf.getByLabel("Note").fill("from the web UI");
  await rf.getByRole("button", { name: "Add rule" }).click();
  await page.getByRole("rowheader", { name: "192.0.2.0/24" }).waitFor();
  await rf.getByLabel("List").selectOption("allow");
  await rf.getByLabel("IP, CIDR range, domain or address").fill("partner.example");
  await rf.getByRole("button", { name: "Add rule" }).click();
  await page.getByRole("rowheader", { name: "partner.example" }).waitFor();
  await page.getByRole("row", { name: /partner\.example/ }).getByRole("button", { name: "Remove" }).click();
  await page.getByRole("rowheader", { name: "partner.example" }).waitFor({ state: "detached" });
  step("rules added and removed");
  await page.screenshot({ path: join(shots, "email-security.png"), fullPage: true });
  await ctx.close();
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.stack ? e.stack : e) + "\n" + result.errors.join("\n");
  if (page) await page.screenshot({ path: join(shots, "security-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  writeFileSync(env("RESULT"), JSON.stringify(result, null, 2));
}
process.exit(result.ok ? 0 : 1);
