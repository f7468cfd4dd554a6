// The web UI in a real browser (Debian's chromium driven by playwright-core) against a real
// mailstead-admin-api: run by tests/integration/test_web_ui.py, which starts the servers,
// and checks afterwards what the clicks changed (store, SMTP, IMAP). Environment:
//   WEB_URL         https://127.0.0.1:PORT/
//   CHROMIUM        the browser to drive
//   ADMIN, ADMIN_PASSWORD   an account with the admin role
//   SHOTS           where the page screenshots go
//   RESULT          a JSON file for what the Python side checks (the app password, ...)
//   SINK_PORT       a local SMTP sink on 127.0.0.1, set as the relay for "send test email"
// Every step waits for what the page shows, never for a time.
import { Run, env, heading as headingOf, openSignIn, signIn, submitSignIn } from "./harness.mjs";

const run = new Run({ pages: [] });
const { url, result, errors } = run;
const step = (s) => run.step(s);
await run.finish(async () => {
  await run.launchChromium();
  // ---- as the admin ----
  let { ctx, page } = await run.chromiumPage({ requests: true });
  const shot = (name) => run.shot(name);
  const heading = (text) => headingOf(page, text);
  const go = async (hash, title) => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: title, exact: true }).click();
    await heading(title);
    if (!page.url().endsWith(hash)) throw new Error(`the link to ${title} went to ${page.url()}`);
  };
  const form = (name) => page.getByRole("form", { name, exact: true });

  const resp = await openSignIn(page, url);
  result.headers = resp.headers();
  await shot("01-sign-in");
  // a wrong password: the API's error is shown in an alert, nothing else happens
  await submitSignIn(page, env("ADMIN"), "not the password");
  await page.getByRole("alert").filter({ hasText: /password|credentials|sign/i }).waitFor();
  step("wrong password refused");
  await submitSignIn(page, env("ADMIN"), env("ADMIN_PASSWORD"));
  await heading("Dashboard");
  await page.getByText("Queued messages").waitFor();
  await shot("02-dashboard");
  step("admin signed in");

  await go("#/domains", "Domains");
  await form("Add a domain").getByLabel("Domain").fill("not a domain!");
  await form("Add a domain").getByRole("button", { name: "Add domain" }).click();
  await form("Add a domain").locator(".field-error, .form-error").first().waitFor();
  result.domainError = await form("Add a domain").locator(".form-error").innerText();
  step("bad domain refused with the API's message");
  await form("Add a domain").getByLabel("Domain").fill("example.org");
  await form("Add a domain").getByRole("button", { name: "Add domain" }).click();
  await page.getByRole("rowheader", { name: "example.org" }).waitFor();
  await page.getByRole("button", { name: "DNS records for example.org" }).click();
  await page.getByRole("heading", { name: /DNS records for example\.org|not available/ }).or(page.getByRole("note")).first().waitFor();
  // the live check of the records through the server's resolver: a column of found/missing
  await page.getByRole("button", { name: "Check against DNS" }).click();
  await page.getByRole("status").filter({ hasText: "DNS check finished" }).waitFor({ timeout: 60000 });
  await page.getByRole("columnheader", { name: "In DNS" }).waitFor();
  result.dnsCheck = await page.locator("table.records tbody tr").evaluateAll(
    (rows) => rows.map((r) => Array.from(r.cells).slice(0, 4).map((c) => c.innerText)));
  await shot("03-domains");
  step("domain added, its DNS records checked");

  await go("#/users", "Users");
  const create = form("Create a user");
  await create.getByLabel("Address").fill("nobody");
  await create.getByLabel("Password", { exact: false }).fill("a good password 1");
  await create.getByRole("button", { name: "Create user" }).click();
  const addrField = create.getByLabel("Address");
  await page.waitForFunction(() => document.querySelector('[data-field="address"][aria-invalid="true"]'));
  result.addressInvalid = await addrField.getAttribute("aria-invalid");
  result.addressFocused = await addrField.evaluate((el) => el === document.activeElement);
  result.addressError = await create.locator(".field-error").innerText();
  await shot("04-users-error");
  step("bad address shown at its field");
  await addrField.fill("carol@example.org");
  await create.getByLabel("Display name").fill("Carol Example");
  await create.getByLabel("Password").fill("carol's first password");
  await create.getByLabel("Quota (MiB)").fill("100");
  await create.getByRole("button", { name: "Create user" }).click();
  await page.getByRole("rowheader", { name: "carol@example.org" }).waitFor();
  await create.getByLabel("Address").fill("dave@example.org");
  await create.getByLabel("Display name").fill("Dave");
  await create.getByLabel("Password").fill("dave's password 1");
  await create.getByLabel("Quota (MiB)").fill("");
  await create.getByRole("button", { name: "Create user" }).click();
  await page.getByRole("rowheader", { name: "dave@example.org" }).waitFor();
  step("users created");
  await page.getByLabel("Search users").fill("carol");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByRole("rowheader", { name: "dave@example.org" }).waitFor({ state: "detached" });
  result.searchRows = await page.locator("tbody > tr").count();
  await page.getByRole("button", { name: "Manage carol@example.org" }).click();
  await page.getByRole("group", { name: "Manage carol@example.org" }).waitFor();
  await shot("05-users");
  step("user search and panel");
  // dave: a new password, the admin role, disabled and enabled again (each through its own button)
  await page.getByLabel("Search users").fill("");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByRole("button", { name: "Manage dave@example.org" }).click();
  const dave = page.getByRole("group", { name: "Manage dave@example.org" });
  await dave.getByLabel("New password").fill("dave's new password 2");
  await dave.getByLabel("New password").press("Enter");  // the keyboard submits the form
  await page.getByRole("status").filter({ hasText: "Password of dave@example.org reset" }).waitFor();
  await dave.getByRole("button", { name: "Grant admin role" }).click();
  await dave.getByRole("button", { name: "Revoke admin role" }).waitFor();
  await dave.getByRole("button", { name: "Disable" }).click();
  await page.getByRole("row", { name: /dave@example\.org.*disabled/ }).waitFor();
  await dave.getByRole("button", { name: "Enable" }).click();
  await page.getByRole("row", { name: /dave@example\.org.*enabled/ }).waitFor();
  step("dave: password reset, admin role, disabled and enabled");

  await go("#/aliases", "Aliases");
  const af = form("Add an alias");
  await af.getByLabel("Alias address").fill("dave@example.org");
  await af.getByLabel("Delivers to user").fill("carol@example.org");
  await af.getByRole("button", { name: "Add alias" }).click();
  await af.locator(".form-error").waitFor();
  result.aliasConflict = await af.locator(".form-error").innerText();
  await af.getByLabel("Alias address").fill("info@example.org");
  await af.getByRole("button", { name: "Add alias" }).click();
  await page.getByRole("rowheader", { name: "info@example.org" }).waitFor();
  await shot("06-aliases");
  step("alias added");

  await go("#/groups", "Groups");
  const gf = form("Add a group");
  await gf.getByLabel("Group address").fill("team@example.org");
  await gf.getByLabel("Members").fill("carol@example.org");
  await gf.getByLabel("Who may post").selectOption("members");
  await gf.getByRole("button", { name: "Add group" }).click();
  await page.getByRole("heading", { name: "team@example.org" }).waitFor();
  const mf = form("Add a member to team@example.org");
  await mf.getByLabel("New member").fill("dave@example.org");
  await mf.getByRole("button", { name: "Add member" }).click();
  await page.getByRole("listitem").filter({ hasText: "dave@example.org" }).waitFor();
  const pf = form("Posting policy of team@example.org");
  await pf.getByLabel("Who may post").selectOption("domain");
  await pf.getByRole("button", { name: "Save policy" }).click();
  await page.getByRole("status").filter({ hasText: "Posting policy of team@example.org saved" }).waitFor();
  await shot("07-groups");
  step("group with members and policy");

  await go("#/catchall", "Catch-all");
  const cf = form("Set a catch-all");
  await cf.getByLabel("Domain").selectOption("example.org");
  await cf.getByLabel("Deliver to users").fill("carol@example.org");
  await cf.getByRole("button", { name: "Set catch-all" }).click();
  await page.getByRole("rowheader", { name: "example.org" }).waitFor();
  await shot("08-catchall");
  step("catch-all set");

  await go("#/dkim", "DKIM keys");
  const dkimBuilt = (await page.getByRole("note").count()) === 0;
  result.dkimBuilt = dkimBuilt;
  if (dkimBuilt) {
    await page.getByRole("heading", { name: "example.org", level: 2 }).waitFor();
    const kf = form("Generate a DKIM key for example.org");
    await kf.getByLabel("Algorithm").selectOption("ed25519");
    await kf.getByRole("button", { name: "Generate key" }).click();
    await page.getByRole("status").filter({ hasText: "New ed25519 key for example.org" }).waitFor();
    result.dkimRows = await page.locator("section", { has: page.getByRole("heading", { name: "example.org" }) }).locator("tbody tr").count();
    step("DKIM key generated");
  }
  await shot("09-dkim");

  await go("#/relay", "Relay");
  const rf = form("Set the relay");
  await rf.getByLabel("Provider").selectOption("smtp");
  await rf.getByLabel("Host").fill("127.0.0.1");
  await rf.getByLabel("Port").fill(env("SINK_PORT"));
  await rf.getByLabel("Security").selectOption("none");
  await rf.getByRole("button", { name: "Save relay" }).click();
  await page.getByRole("status").filter({ hasText: "Relay saved" }).waitFor();
  await page.getByRole("cell", { name: "127.0.0.1", exact: true }).waitFor();
  step("relay set");
  const tf = form("Send a test email");
  await tf.getByLabel("Send to").fill("someone@example.net");
  await tf.getByRole("button", { name: "Send test email" }).click();
  await page.getByRole("heading", { name: "Result", level: 3 }).waitFor({ timeout: 90000 });
  result.testEmail = await page.locator(".result li").allInnerTexts();
  await shot("10-relay");
  step("test email sent through the relay");
  await go("#/queue", "Queue and send log");
  await page.getByRole("heading", { name: "Send log", exact: true }).waitFor();
  await page.getByRole("cell", { name: "someone@example.net" }).first().waitFor();
  result.sendLog = await page.locator("table", { has: page.getByRole("cell", { name: "someone@example.net" }) })
    .locator("tbody tr").allInnerTexts();
  await shot("11-queue");
  await go("#/logs", "Logs");
  await shot("12-logs");
  step("read relay, queue, logs");

  await page.getByRole("button", { name: "Sign out" }).click();
  await heading("Sign in to Mailstead");
  step("admin signed out");
  result.adminErrors = errors.splice(0);
  await ctx.close();

  // ---- as the user carol ----
  ({ ctx, page } = await run.chromiumPage({ requests: true }));
  await signIn(page, url, "carol@example.org", "carol's first password", "My account");
  await page.getByText("Carol Example").waitFor();
  result.userNav = await page.getByRole("navigation", { name: "Pages" }).getByRole("link").allInnerTexts();
  await shot("13-my-account");

  await go("#/password", "Password");
  const pw = form("Change password");
  await pw.getByLabel("Current password").fill("wrong");
  await pw.locator('[data-field="new_password"]').fill("carol's second password");
  await pw.getByLabel("New password again").fill("carol's second password");
  await pw.getByRole("button", { name: "Change password" }).click();
  await page.waitForFunction(() => document.querySelector('[data-field="current_password"][aria-invalid="true"]'));
  result.currentPasswordError = await pw.locator(".field-error").innerText();
  await pw.getByLabel("Current password").fill("carol's first password");
  await pw.getByRole("button", { name: "Change password" }).click();
  await page.getByText("Your password was changed.").waitFor();
  await shot("14-password");
  step("password changed");

  await go("#/vacation", "Vacation reply");
  const vf = form("Vacation reply");
  await vf.getByLabel("Send a vacation reply").check();
  await vf.getByLabel("Subject").fill("Away until Monday");
  await vf.getByLabel("Message").fill("I am away until Monday.\nAsk dave@example.org.");
  await vf.getByLabel("Days between replies to one sender").fill("3");
  await vf.getByRole("button", { name: "Save vacation reply" }).click();
  await page.getByRole("status").filter({ hasText: "Vacation reply on" }).waitFor();
  await shot("15-vacation");
  step("vacation set");

  await go("#/forwarding", "Forwarding");
  await shot("16-forwarding");

  await go("#/app-passwords", "App passwords");
  const ap = form("Create an app password");
  await ap.getByLabel("Device or program").fill("phone");
  await ap.getByRole("button", { name: "Create app password" }).click();
  await page.locator("#new-app-password").waitFor();
  result.appPassword = await page.locator("#new-app-password").innerText();
  await page.getByRole("rowheader", { name: "phone" }).waitFor();
  await shot("17-app-passwords");
  step("app password created");
  // the admin pages are not offered to a user, and their API answers 403
  await page.goto(url + "#/users");
  await heading("My account");
  result.userErrors = errors.splice(0);
  await ctx.close();
});
