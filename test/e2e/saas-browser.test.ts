import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWithOAuth, RedirectTarget, TestOAuthProvider, whoami } from "../support/oauth.js";
import { saasProject as project } from "../support/project.js";
import { type SaasDev, startSaasDev } from "../support/saas.js";

/**
 * The consent page and the sign-in in a real browser (headless Chromium):
 * what an HTTP-level test cannot see — that Chromium keeps the `__Host-`
 * binding cookies on http://localhost, applies the page's CSP without a
 * violation, and follows the form's redirect chain through Access back to
 * the MCP client's loopback redirect URI. Skipped only when no Chromium is
 * installed (.ci/run installs Debian's).
 */
const executablePath = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(
  (path): path is string => !!path && existsSync(path),
);

describe.skipIf(!executablePath)("the saas sign-in in headless Chromium", () => {
  let dev: SaasDev;
  let target: RedirectTarget;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "saas-chromium-"));
    [dev, target, context] = await Promise.all([
      startSaasDev(project),
      RedirectTarget.start(),
      chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      }),
    ]);
  });
  afterAll(async () => {
    await context?.close();
    await dev?.stop();
    await target?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("consent page, Allow, the Access sign-in form, and back at the client's redirect URI with a code the client redeems", async () => {
    // The origin the dev banner tells people to use.
    const origin = `http://localhost:${dev.port}`;
    const page = await context.newPage();
    const consoleMessages: string[] = [];
    page.on("console", (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
    // Reported to the page itself, whatever the console says: read before leaving each page.
    await page.addInitScript(() => {
      const violations: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = violations;
      document.addEventListener("securitypolicyviolation", (event) => violations.push(`${event.violatedDirective} ${event.blockedURI}`));
    });
    const violations = () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

    const visited: string[] = [];
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) visited.push(new URL(frame.url()).origin + new URL(frame.url()).pathname);
    });

    // The MCP client (the official SDK) registers and starts the flow; its "browser" is Chromium.
    const provider = new TestOAuthProvider({
      redirectUri: target.uri,
      clientName: "Chromium <check>",
      authorize: async (url) => {
        await page.goto(url.href);
        expect(await page.title()).toBe("Allow an app to use saas?");
        // The name is the app's own claim, shown as text.
        expect(await page.locator("h1 + p").textContent()).toContain("It calls itself Chromium <check>.");
        const cookies = await context.cookies(origin);
        expect(cookies.map((cookie) => cookie.name)).toEqual([expect.stringMatching(/^__Host-/)]);
        expect(await violations()).toEqual([]);
        // The page's only style sheet is allowed by its hash: it applies.
        expect(await page.locator("button.primary").evaluate((button) => getComputedStyle(button).backgroundColor)).toBe("rgb(243, 128, 32)");

        await page.getByRole("button", { name: "Allow" }).click();
        await page.waitForURL((next) => next.pathname.startsWith("/cdn-cgi/access/sso/oidc/"));
        expect(await violations()).toEqual([]);
        await page.getByLabel("Email").fill("carol@example.com");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForURL((next) => next.origin + next.pathname === target.uri);
        const landing = target.hits.at(-1)!;
        expect(landing.get("state")).toBe(url.searchParams.get("state"));
        return landing.get("code")!;
      },
    });
    const client = await connectWithOAuth(`${origin}/mcp`, provider);

    expect(await page.textContent("body")).toContain("You can close this window.");
    expect(visited).toEqual([`${origin}/authorize`, `${dev.issuer}/authorization`, target.uri]);
    expect(target.hits).toHaveLength(1);
    expect(target.hits[0]!.get("code")).toBeTruthy();
    expect(target.hits[0]!.get("iss")).toBe(origin);
    expect((await whoami(client)).email).toBe("carol@example.com");
    expect(consoleMessages.filter((message) => /Content.Security.Policy|Refused to/i.test(message))).toEqual([]);
    await client.close();
  });
});
