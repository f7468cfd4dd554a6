// Chat streams and paged lists in a real browser (Debian's chromium through playwright-core)
// against a real mailstead-admin-api and smtpd: run by tests/integration/test_web_streams.py.
// The admin pages through the users (more than one page) and searches them, creates a
// stream and a member; the member signs in, opens the stream, posts with the compose box,
// and then a message the Python side sends by email to the stream's address (smtplib to the
// real smtpd) must appear in the open page without a reload, over the WebSocket.
// Environment: WEB_URL, CHROMIUM, ADMIN, ADMIN_PASSWORD, SHOTS, RESULT, PAGED_USERS (how many
// users the Python side created with the prefix "pager").
// Lines "EMAIL-NOW <address>" on stdout ask the Python side to send the email.
import { Run, env, heading as headingOf, signIn as signInAt, stdinLines } from "./harness.mjs";

const run = new Run({ pages: [] });
const { url, result, errors } = run;
const step = (s) => run.step(s);
// The Python side answers "SENT" on stdin once the email is accepted by smtpd.
run.stdin = stdinLines();
await run.finish(async () => {
  await run.launchChromium();
  let page;
  const shot = (name) => run.shot(name);
  const heading = (text) => headingOf(page, text);
  const nav = (title) => page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: title, exact: true }).click();
  const form = (name) => page.getByRole("form", { name, exact: true });
  const signIn = (address, password, first) => signInAt(page, url, address, password, first);

  // ---- the admin ----
  let ctx;
  ({ ctx, page } = await run.chromiumPage());
  await signIn(env("ADMIN"), env("ADMIN_PASSWORD"), "Dashboard");
  step("admin signed in");

  // Users, 10 a page: the API's pages (Link rel=next), forward and back, then a search.
  await nav("Users");
  await heading("Users");
  await page.getByLabel("Per page").selectOption("10");
  await page.locator(".pager span").getByText("Page 1", { exact: true }).waitFor();
  const rows = () => page.locator("tbody > tr > th").allInnerTexts();
  await page.waitForFunction(() => document.querySelectorAll("tbody > tr").length === 10);
  const first = await rows();
  await page.getByRole("button", { name: "Next page" }).click();
  await page.locator(".pager span").getByText("Page 2", { exact: true }).waitFor();
  await page.waitForFunction((f) => document.querySelector("tbody > tr > th")?.textContent !== f, first[0]);
  const second = await rows();
  await shot("s01-users-page-2");
  let all = [...first, ...second];
  let pages = 2;
  while (await page.getByRole("button", { name: "Next page" }).isEnabled()) {
    const before = (await rows())[0];
    await page.getByRole("button", { name: "Next page" }).click();
    await page.waitForFunction((f) => document.querySelector("tbody > tr > th")?.textContent !== f, before);
    all.push(...(await rows()));
    pages++;
  }
  result.userPages = pages;
  result.pagedUsers = all.map((a) => a.replace(/admin$/, ""));
  await page.getByRole("button", { name: "Previous page" }).click();
  await page.locator(".pager span").getByText(`Page ${pages - 1}`, { exact: true }).waitFor();
  step(`users paged: ${pages} pages, ${all.length} rows`);
  await page.getByLabel("Search users").fill("pager07");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.waitForFunction(() => document.querySelectorAll("tbody > tr").length === 1);
  result.searchRows = await rows();
  await shot("s02-users-search");
  step("users searched");

  // Aliases are paged the same way.
  await nav("Aliases");
  await heading("Aliases");
  await page.getByRole("navigation", { name: "Aliases pages" }).waitFor();

  // A member, then a stream with that member.
  await nav("Users");
  await heading("Users");
  const create = form("Create a user");
  await create.getByLabel("Address").fill("mia@example.test");
  await create.getByLabel("Display name").fill("Mia Member");
  await create.getByLabel("Password").fill("mia's password 1");
  await create.getByRole("button", { name: "Create user" }).click();
  await page.getByRole("status").filter({ hasText: "User mia@example.test created" }).waitFor();
  step("member user created");

  await nav("Streams");
  await heading("Streams");
  const sf = form("Create a stream");
  await sf.locator("input[name=name]").fill("Launch Team");
  await sf.getByLabel("Short name (in the address)").fill("launch");
  await sf.getByLabel("Description").fill("Everything about the launch");
  await sf.getByRole("button", { name: "Create stream" }).click();
  await heading("Settings of Launch Team");
  const mf = form("Add a member");
  await mf.getByLabel("Member address").fill("nobody@example.test");
  await mf.getByRole("button", { name: "Add member" }).click();
  await mf.locator(".form-error").waitFor();
  result.memberError = await mf.locator(".form-error").innerText();
  await mf.getByLabel("Member address").fill("mia@example.test");
  await mf.getByRole("button", { name: "Add member" }).click();
  await page.getByRole("listitem").filter({ hasText: "mia@example.test" }).waitFor();
  const address = await page.locator("#stream-address").innerText();
  result.address = address;
  // a new token: the address changes
  await page.getByRole("button", { name: "New address (rotate the token)" }).click();
  await page.waitForFunction((a) => document.querySelector("#stream-address")?.textContent !== a, address);
  result.rotatedAddress = await page.locator("#stream-address").innerText();
  await form("Email posting rule").getByLabel("Who may post by email").selectOption("anyone");
  await form("Email posting rule").getByRole("button", { name: "Save rule" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  await shot("s03-stream-settings");
  step("stream created with a member");
  result.adminErrors = errors.splice(0);
  await ctx.close();

  // ---- the member ----
  ({ ctx, page } = await run.chromiumPage());
  await signIn("mia@example.test", "mia's password 1", "My account");
  await nav("Streams");
  await heading("Streams");
  result.memberStreams = await page.locator("tbody > tr > th").allInnerTexts();
  await page.getByRole("link", { name: "Launch Team" }).click();
  await heading("Launch Team");
  await page.getByRole("status").filter({ hasText: "Live: new messages appear here" }).waitFor();
  step("member opened the stream, live");
  const compose = form("Write a message");
  await compose.getByLabel("Topic").fill("go live");
  // text that would be markup if it were put in the page as HTML
  await compose.getByLabel("Message").fill("Ready when you are <b>bold?</b> <img src=x onerror=alert(1)>");
  await compose.getByRole("button", { name: "Send" }).click();
  const log = page.getByRole("log");
  await log.getByText("Ready when you are <b>bold?</b>", { exact: false }).waitFor();
  await page.getByRole("button", { name: /^go live/ }).waitFor();
  result.injected = await page.locator(".message-list img, .message-list b").count();
  await shot("s04-stream-posted");
  step("member posted with the compose box");

  // The email: sent by the Python side while this page stays open; no reload.
  const loads = [];
  page.on("load", () => loads.push(Date.now()));
  console.log("EMAIL-NOW " + result.rotatedAddress);
  const answer = await run.stdin.next();
  if (answer !== "SENT") throw new Error("the email was not sent: " + answer);
  const t0 = Date.now();
  await log.getByText("Sent by email while the page was open").waitFor({ timeout: 20000 });
  result.emailSeenMs = Date.now() - t0;
  result.reloads = loads.length;
  result.emailSender = await page.locator(".message").filter({ hasText: "Sent by email" }).locator(".meta").innerText();
  await shot("s05-stream-live-email");
  step("the email appeared live");

  // the topic list is keyboard-usable: Tab to a topic and Enter opens it
  await page.getByRole("button", { name: /^go live/ }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Topic: go live" }).waitFor();
  result.memberErrors = errors.splice(0);
  await ctx.close();
});
