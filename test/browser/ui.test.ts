// The host page in a real browser (Debian's chromium through playwright-core) against a real
// server on a loopback port in manual mode: sign in, watch a client's write appear, allow it,
// deny the next one. Screenshots of a pending approval (desktop and phone width) are saved to
// test/artifacts/ (git-ignored) for a human look.
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { silentLogger } from "../../src/logger.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { workspaceId } from "../../src/workspaces.js";
import { launchChromium } from "../helpers/chromium.js";
import { snapshot, tempDir, testSettings, waitFor } from "../helpers/harness.js";

const ARTIFACTS = fileURLToPath(new URL("../artifacts/", import.meta.url));
const TOKEN = "browser-client-token";
const HOST_TOKEN = "browser-host-token";

describe("host page in chromium", { timeout: 120_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let root: string;
  let engineRoot: string;
  let base: string;
  /** The device token added through the page (for the revocation test). */
  let deviceToken = "";
  const problems: string[] = [];

  before(async () => {
    root = await tempDir("ows-ui-");
    engineRoot = await tempDir("ows-ui-engine-");
    await writeFile(join(root, "opencode.json"), '{\n  "theme": "dark"\n}\n');
    const settings = testSettings(root, {
      token: TOKEN,
      hostToken: HOST_TOKEN,
      approval: { mode: "manual", timeoutMs: 60_000 },
      workspaces: [
        { path: root, name: "demo-project", workspaceType: "local" },
        // An engine nobody listens on: the page still offers the reload and shows its error.
        { path: engineRoot, name: "with-engine", workspaceType: "local", baseUrl: "http://127.0.0.1:9" },
      ],
      authorizedRoots: [root, engineRoot],
    });
    server = await startServer(settings, silentLogger);
    base = `http://127.0.0.1:${server.port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      // HTTP errors the page handles (a refused token, a missing engine) are logged by chromium
      // as "Failed to load resource"; any other error (script, CSP violation) is a problem.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(`console: ${message.text()}`);
    });
    await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await rm(root, { recursive: true, force: true });
    await rm(engineRoot, { recursive: true, force: true });
  });

  const patchConfig = (theme: string) =>
    fetch(`${base}/workspace/${workspaceId(root)}/config`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "X-OpenWork-Client-Id": "laptop" },
      body: JSON.stringify({ opencode: { theme } }),
    });

  test("asks for the host token and refuses a wrong one", async () => {
    await page.goto(`${base}/ui`);
    assert.equal(await page.title(), "OpenWork host");
    const input = page.getByLabel("Host token", { exact: true });
    await input.fill("not-the-host-token");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();
    assert.equal(await page.locator("#dashboard").isHidden(), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("openwork.hostToken")), null);

    await input.fill(HOST_TOKEN);
    await input.press("Enter");
    await page.locator("#connection[data-state=live]").waitFor();
    assert.equal(await page.locator("#login").isHidden(), true);
    assert.equal(page.url(), `${base}/ui`, "the token never goes into the URL");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("openwork.hostToken")), HOST_TOKEN);
  });

  test("shows pairing details with the client token masked until revealed", async () => {
    await page.locator("#urls li code", { hasText: base }).waitFor();
    const secret = page.locator("#client-token");
    assert.equal((await secret.textContent())?.includes(TOKEN), false);
    const reveal = page.getByRole("button", { name: "Reveal" });
    await reveal.click();
    assert.equal(await secret.textContent(), TOKEN);
    assert.equal(await page.locator("#reveal-token").getAttribute("aria-pressed"), "true");
    await page.getByRole("button", { name: "Hide" }).click();
    assert.equal((await secret.textContent())?.includes(TOKEN), false);
    assert.match((await page.locator("#server-facts").textContent()) ?? "", /manual/);
    await page.getByRole("heading", { name: "demo-project" }).waitFor();
    await page.getByRole("heading", { name: "with-engine" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Reload engine for with-engine" }).count(), 1);
    assert.equal(await page.getByRole("button", { name: /Reload engine for demo-project/ }).count(), 0);
  });

  test("a client's write appears live; Allow lets it through and the file is written", async () => {
    const write = patchConfig("light");
    const card = page.locator("#approvals li").filter({ hasText: "config.patch" });
    await card.waitFor();
    const text = (await card.textContent()) ?? "";
    assert.match(text, /demo-project/);
    assert.match(text, /theme/);
    assert.match(text, /opencode\.json/);
    assert.match(text, /laptop/);
    assert.match(text, /Denied automatically in (\d+ s|1 min( \d+ s)?)/);
    assert.equal(await page.locator("#pending-count").textContent(), "1");
    await page.waitForFunction(() => document.getElementById("announcer")?.textContent?.includes("New approval request"));
    assert.equal(await page.locator("#announcer").getAttribute("aria-live"), "assertive");

    await page.screenshot({ path: join(ARTIFACTS, "ui-pending-desktop.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, "ui-pending-phone.png"), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.locator("#approvals > li:not([data-settling])").filter({ hasText: "config.patch" }).waitFor();
    await card.getByRole("button", { name: /^Allow/ }).click();
    const res = await write;
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(await readFile(join(root, "opencode.json"), "utf8")).theme, "light");
    await card.waitFor({ state: "detached" });
    await page.locator("#decisions li", { hasText: "Allowed" }).waitFor();
    assert.equal(await page.locator("#pending-count").textContent(), "0");
    // The audit list of the workspace updates by itself.
    await page.locator("article", { hasText: "demo-project" }).locator("li", { hasText: "config.patch" }).first().waitFor();
  });

  test("Deny (from the keyboard) refuses the write: 403 write_denied, file unchanged", async () => {
    const before = await snapshot(root);
    const write = patchConfig("neon");
    const card = page.locator("#approvals li").filter({ hasText: "config.patch" });
    await card.waitFor();
    await card.getByRole("button", { name: /^Deny/ }).focus();
    await page.keyboard.press("Enter");
    const res = await write;
    assert.equal(res.status, 403);
    const body = (await res.json()) as { code: string; details: { reason: string } };
    assert.equal(body.code, "write_denied");
    assert.equal(body.details.reason, "denied");
    await card.waitFor({ state: "detached" });
    await page.locator("#decisions li", { hasText: "Denied" }).waitFor();
    const after = await snapshot(root);
    assert.deepEqual(after, before);
    // Focus went somewhere sensible, not lost on <body>.
    assert.notEqual(await page.evaluate(() => document.activeElement?.tagName), "BODY");
  });

  test("Reload engine calls the server and shows what happened", async () => {
    await page.getByRole("button", { name: "Reload engine for with-engine" }).click();
    const status = page.locator("article", { hasText: "with-engine" }).getByRole("status");
    // In manual mode the reload itself waits for approval, and the page says so.
    const approval = page.locator("#approvals li").filter({ hasText: "engine.reload" });
    await approval.waitFor();
    assert.match((await status.textContent()) ?? "", /approve the engine\.reload request/);
    // A card ignores the pointer for half a second after it appears (no reflex approvals).
    await page.locator("#approvals > li:not([data-settling])").filter({ hasText: "engine.reload" }).waitFor();
    await approval.getByRole("button", { name: /^Allow/ }).click();
    await page.waitForFunction(() =>
      /Reload failed|Engine reloaded/.test(document.querySelector("#workspaces article:nth-child(2) [role=status]")?.textContent ?? ""),
    );
    // Nothing listens at the engine's address.
    assert.match((await status.textContent()) ?? "", /^Reload failed: .+ \(opencode_unreachable\)\.$/);
  });

  test("Devices: adding one shows its token and QR code once; the list shows it", async () => {
    const section = page.locator("#devices-panel");
    await section.getByRole("heading", { name: /^Devices/ }).waitFor();
    await section.locator("#devices-empty", { hasText: "No devices yet" }).waitFor();
    // The server listens on 127.0.0.1 only: the page says a phone cannot reach it, and how to change that.
    const note = section.locator("#loopback-note");
    await note.waitFor();
    assert.match((await note.textContent()) ?? "", /--host 0\.0\.0\.0/);
    assert.match((await note.textContent()) ?? "", /--tls-cert/);

    await section.getByLabel("Name").fill("Susan's phone");
    await section.getByRole("radio", { name: /^Viewer/ }).check();
    await section.getByLabel("Expires").selectOption({ label: "In 7 days" });
    await section
      .getByRole("group", { name: "Workspaces it may reach" })
      .getByLabel(/demo-project/)
      .check();
    await section.getByRole("button", { name: "Add device" }).click();

    const fresh = section.getByRole("region", { name: /Pair “Susan's phone”/ });
    await fresh.waitFor();
    const token = ((await fresh.locator("#new-device-token").textContent()) ?? "").trim();
    assert.match(token, /^owt_[A-Za-z0-9_-]{22,}$/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "new-device-heading", "focus moves to the new token");
    const me = await fetch(`${base}/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    assert.deepEqual(
      { ...((await me.json()) as Record<string, unknown>), tokenId: undefined },
      { kind: "token", scope: "viewer", tokenId: undefined, label: "Susan's phone", workspaces: [workspaceId(root)] },
    );

    // The QR code is an image of exactly what the server encodes for this token and address.
    const image = fresh.getByRole("img", { name: /QR code to pair Susan's phone/ });
    await image.waitFor();
    const box = await image.boundingBox();
    assert.ok(box && box.width >= 150 && Math.abs(box.width - box.height) < 1, `a square code, big enough to scan (${box?.width})`);
    const url = await fresh.getByLabel("Server address in the code").inputValue();
    assert.equal(url, base);
    assert.match((await fresh.locator("#new-device-loopback").textContent()) ?? "", /only on this computer/);
    const expected = (await (
      await fetch(`${base}/host/pairing/qr`, {
        method: "POST",
        headers: { "X-OpenWork-Host-Token": HOST_TOKEN, "Content-Type": "application/json" },
        body: JSON.stringify({ url, token }),
      })
    ).json()) as { size: number; rows: string[]; payload: string };
    const drawn = await image.evaluate((svg) => ({
      modules: Number((svg as SVGElement).dataset.modules),
      dark: [...(svg.querySelector("path")?.getAttribute("d") ?? "").matchAll(/h(\d+)v1/g)].reduce((n, m) => n + Number(m[1]), 0),
    }));
    assert.equal(drawn.modules, expected.size);
    assert.equal(drawn.dark, expected.rows.join("").replace(/0/g, "").length, "every dark module is drawn");
    assert.equal(await fresh.locator("#new-device-payload").textContent(), expected.payload);
    assert.ok(expected.payload.startsWith("openwork://connect?v=1&"));

    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    await fresh.getByRole("button", { name: "Copy token" }).click();
    await fresh.getByRole("status").filter({ hasText: "Token copied." }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

    const row = section.locator("#devices li", { hasText: "Susan's phone" });
    await row.waitFor();
    const rowText = (await row.textContent()) ?? "";
    assert.match(rowText, /viewer/);
    assert.match(rowText, /Last used\s*never/);
    assert.match(rowText, /Expires\s*in 7 days/);
    assert.match(rowText, /Workspaces\s*demo-project/);
    assert.equal(await section.locator("#devices-count").textContent(), "1");
    await mkdir(ARTIFACTS, { recursive: true });
    await section.screenshot({ path: join(ARTIFACTS, "ui-devices-new.png") });

    await fresh.getByRole("button", { name: "Done: hide the token" }).click();
    await fresh.waitFor({ state: "hidden" });
    assert.equal((await page.content()).includes(token), false, "the token is gone from the page once closed");
    await page.reload();
    await page.locator("#devices li", { hasText: "Susan's phone" }).waitFor();
    assert.equal((await page.content()).includes(token), false, "and after a reload");
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    assert.equal(stored.includes(token), false, "nor kept in the browser's storage");

    // A use shows up as "Last used" at the next refresh (a reload here).
    assert.equal((await fetch(`${base}/status`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
    await page.reload();
    await page
      .locator("#devices li", { hasText: "Susan's phone" })
      .filter({ hasText: /Last used\s*(just now|\d+ seconds? ago)/ })
      .waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone with a device listed (overflow ${overflow}px)`);
    await page.locator("#devices-panel").screenshot({ path: join(ARTIFACTS, "ui-devices-phone.png") });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.locator("#devices-panel").screenshot({ path: join(ARTIFACTS, "ui-devices.png") });
    deviceToken = token;
  });

  test("Devices: revoking asks first; Cancel keeps the device, Revoke ends it and its token gets 401 revoked", async () => {
    const row = page.locator("#devices li", { hasText: "Susan's phone" });
    const dialog = page.getByRole("dialog", { name: "Revoke this device?" });
    await row.getByRole("button", { name: "Revoke Susan's phone" }).click();
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /“Susan's phone” \(viewer\) stops working at once/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await fetch(`${base}/whoami`, { headers: { Authorization: `Bearer ${deviceToken}` } })).status, 200, "still works");

    await row.getByRole("button", { name: "Revoke Susan's phone" }).click();
    await dialog.getByRole("button", { name: "Revoke device" }).click();
    await dialog.waitFor({ state: "hidden" });
    await row.waitFor({ state: "detached" });
    await page.locator("#devices-empty").waitFor();
    const ended = page.locator("#ended-devices");
    await ended.locator("summary").click();
    await ended.locator("li", { hasText: "Susan's phone" }).filter({ hasText: "revoked" }).waitFor();
    await page.waitForFunction(() => document.getElementById("announcer")?.textContent?.includes("Revoked Susan's phone"));

    const res = await fetch(`${base}/whoami`, { headers: { Authorization: `Bearer ${deviceToken}` } });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { code: string; details: { reason: string } };
    assert.equal(body.code, "unauthorized");
    assert.equal(body.details.reason, "revoked");
  });

  test("forgetting the token returns to the sign-in form; a reload keeps the tab signed in", async () => {
    await page.reload();
    await page.locator("#connection[data-state=live]").waitFor();
    assert.equal(await page.locator("#login").isHidden(), true);
    // The old page's approval stream went away with it: one subscriber, not two.
    await waitFor(() => server.services.approvals.listenerCount === 1, 5000);
    await page.getByRole("button", { name: "Forget host token" }).click();
    await page.getByLabel("Host token", { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("openwork.hostToken")), null);
    assert.equal(await page.locator("#dashboard").isHidden(), true);
    await waitFor(() => server.services.approvals.listenerCount === 0, 5000);
    assert.deepEqual(problems, [], "no script errors or CSP violations");
  });

  test("an owner device token signs in too; when it is revoked the page says so", async () => {
    const created = await fetch(`${base}/tokens`, {
      method: "POST",
      headers: { "X-OpenWork-Host-Token": HOST_TOKEN, "Content-Type": "application/json" },
      body: JSON.stringify({ scope: "owner", label: "Susan's laptop" }),
    });
    const owner = (await created.json()) as { id: string; token: string };
    const input = page.getByLabel("Host token", { exact: true });
    await input.fill(owner.token);
    await input.press("Enter");
    await page.locator("#connection[data-state=live]").waitFor();
    const laptop = page.locator("#devices li", { hasText: "Susan's laptop" });
    await laptop.waitFor();
    await waitFor(() => server.services.approvals.listenerCount === 1, 5000);
    // A device added from here is marked as added by this laptop, and revoking the laptop says so.
    await page.locator("#devices-panel").getByLabel("Name").fill("Kitchen tablet");
    await page.getByRole("button", { name: "Add device" }).click();
    await page.getByRole("button", { name: "Done: hide the token" }).click();
    await page.locator("#devices li", { hasText: "Kitchen tablet" }).filter({ hasText: "by Susan's laptop" }).waitFor();
    await laptop.getByRole("button", { name: "Revoke Susan's laptop" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke this device?" });
    await dialog.getByText("It added “Kitchen tablet”; that device keeps working until you revoke it too.").waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await fetch(`${base}/tokens/${owner.id}`, { method: "DELETE", headers: { "X-OpenWork-Host-Token": HOST_TOKEN } });
    // Its approvals stream closes at once; the page notices and asks for a token again.
    await page.getByRole("alert").filter({ hasText: "This token was revoked on the host." }).waitFor();
    assert.equal(await page.locator("#dashboard").isHidden(), true);
    assert.deepEqual(problems, [], "no script errors or CSP violations");
  });
});
