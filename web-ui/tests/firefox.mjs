// The same pages in Firefox: Debian's firefox-esr driven by puppeteer-core over WebDriver
// BiDi (playwright-core drives only its own patched Firefox). Run by
// tests/integration/test_web_streams.py after the chromium run: the admin signs in and pages
// through the users and searches them; a member opens a stream, posts with the compose box,
// and an email sent by the Python side (smtplib to smtpd) appears live in the open page.
// Environment: WEB_URL, FIREFOX, ADMIN, ADMIN_PASSWORD, MEMBER, MEMBER_PASSWORD, STREAM,
// SHOTS, RESULT. "EMAIL-NOW <stream>" on stdout asks for the email; "SENT" comes on stdin.
import { Run, env, seeText as seeTextOn, signInFirefox, stdinLines } from "./harness.mjs";

const run = new Run({ pages: [] });
const { url, result, errors } = run;
const step = (s) => run.step(s);
run.stdin = stdinLines();
await run.finish(async () => {
  const browser = await run.launchFirefox();
  const page = await run.firefoxPage();
  const shot = (name) => run.shot(name);
  const seeText = (selector, text, timeout) => seeTextOn(page, selector, text, timeout);
  const heading = (text) => seeText("h1", text);
  const clickButton = async (scope, text) => {
    await page.waitForFunction((s, t) => [...document.querySelectorAll(s + " button")].some((b) => b.textContent.trim() === t && !b.disabled),
      { timeout: 20000 }, scope, text);
    await page.evaluate((s, t) => [...document.querySelectorAll(s + " button")].find((b) => b.textContent.trim() === t).click(), scope, text);
  };
  const signIn = (address, password, first) => signInFirefox(page, url, address, password, first);

  result.userAgent = await browser.version();

  await signIn(env("ADMIN"), env("ADMIN_PASSWORD"), "Dashboard");
  step("admin signed in (" + result.userAgent + ")");
  await page.goto(url + "#/users");
  await heading("Users");
  await page.select("select[id^=pager-]", "10");
  await page.waitForFunction(() => document.querySelectorAll("tbody > tr").length === 10);
  const rows = () => page.$$eval("tbody > tr > th", (ths) => ths.map((t) => t.textContent));
  const first = await rows();
  await clickButton(".pager", "Next page");
  await seeText(".pager", "Page 2");
  await page.waitForFunction((f) => document.querySelector("tbody > tr > th")?.textContent !== f, {}, first[0]);
  result.secondPage = await rows();
  await page.type("#user-search", "pager07");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("tbody > tr").length === 1);
  result.searchRows = await rows();
  await shot("f01-users");
  step("users paged and searched");
  await clickButton("header", "Sign out");
  await heading("Sign in to Mailstead");

  await signIn(env("MEMBER"), env("MEMBER_PASSWORD"), "My account");
  await page.goto(url + "#/streams/" + env("STREAM"));
  await seeText("[role=status]", "Live: new messages appear here");
  step("member opened the stream, live");
  await page.type("form[aria-label='Write a message'] input[name=topic]", "firefox");
  await page.type("form[aria-label='Write a message'] textarea[name=content]", "Posted from Firefox <i>as text</i>");
  await clickButton("form[aria-label='Write a message']", "Send");
  await seeText(".message-list .content", "Posted from Firefox <i>as text</i>");
  result.injected = await page.$$eval(".message-list i", (x) => x.length);
  step("member posted");
  const reloadsBefore = await page.evaluate(() => performance.getEntriesByType("navigation").length + ":" + performance.timeOrigin);
  console.log("EMAIL-NOW " + env("STREAM"));
  const answer = await run.stdin.next();
  if (answer !== "SENT") throw new Error("the email was not sent: " + answer);
  const t0 = Date.now();
  await seeText(".message-list .content", "Sent by email to the Firefox page");
  result.emailSeenMs = Date.now() - t0;
  result.sameDocument = reloadsBefore === await page.evaluate(() => performance.getEntriesByType("navigation").length + ":" + performance.timeOrigin);
  await shot("f02-stream-live-email");
  step("the email appeared live");
  result.errors = errors.splice(0);
});
