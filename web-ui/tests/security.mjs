// The "Email security" page in a real browser (Debian's chromium through playwright-core)
// against a real mailstead-admin-api: run by tests/integration/test_web_ui_security.py,
// which checks afterwards in the store what the clicks changed. Environment:
//   WEB_URL, CHROMIUM, ADMIN, ADMIN_PASSWORD, SHOTS, RESULT (as browser.mjs)
// Every step waits for what the page shows, never for a time.
import { Run, env, heading, signIn } from "./harness.mjs";

const run = new Run({}, { errorsInResult: true });
await run.finish(async () => {
  await run.launchChromium();
  const { ctx, page } = await run.chromiumPage();
  const form = (name) => page.getByRole("form", { name, exact: true });

  await signIn(page, run.url, env("ADMIN"), env("ADMIN_PASSWORD"), "Dashboard");
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Email security", exact: true }).click();
  await heading(page, "Email security");
  // the policy in force, from GET /policy (the test's [dnsbl] and [spam] settings)
  await page.getByRole("cell", { name: /bl\.test \(weight 2\)/ }).waitFor();
  await page.getByRole("cell", { name: /Junk from score 6/ }).waitFor();
  await page.getByRole("cell", { name: "not verified" }).waitFor();
  run.step("policy shown");

  // DMARC overrides: a bad domain is refused with the API's message, then two are added
  const of = form("Add a DMARC override");
  await of.getByLabel("Sender domain").fill("bad..example");
  await of.getByRole("button", { name: "Save override" }).click();
  await of.locator(".field-error, .form-error").first().waitFor();
  run.step("bad override domain refused");
  await of.getByLabel("Sender domain").fill("Partner.Example");
  await of.getByLabel("On a DMARC result").selectOption("reject");
  await of.getByRole("button", { name: "Save override" }).click();
  await page.getByRole("rowheader", { name: "partner.example" }).waitFor();
  await of.getByLabel("Sender domain").fill("lists.example");
  await of.getByLabel("On a DMARC result").selectOption("none");
  await of.getByRole("button", { name: "Save override" }).click();
  await page.getByRole("rowheader", { name: "lists.example" }).waitFor();
  run.step("overrides added");
  await page.getByRole("row", { name: /partner\.example/ }).getByRole("button", { name: "Remove" }).click();
  await page.getByRole("rowheader", { name: "partner.example" }).waitFor({ state: "detached" });
  run.step("override removed");

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
  run.step("rules added and removed");
  await run.shot("email-security");
  await ctx.close();
}, "security-failure");
