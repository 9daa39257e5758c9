import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, runCli } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";

interface VitestReport {
  numPassedTests: number;
  testResults: { assertionResults: { fullName: string; status: string }[] }[];
}

/** The project's own `npm test`, with vitest's JSON report beside its usual output. */
async function npmTest(project: string) {
  const reportFile = join(project, ".vitest-report.json");
  rmSync(reportFile, { force: true });
  const started = Date.now();
  const result = await run("npm", ["test", "--", "--reporter=default", "--reporter=json", `--outputFile.json=${reportFile}`], {
    cwd: project,
    timeoutMs: 180_000,
  });
  const seconds = (Date.now() - started) / 1000;
  if (!existsSync(reportFile)) throw new Error(`npm test wrote no report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  const report = JSON.parse(readFileSync(reportFile, "utf8")) as VitestReport;
  const failed = report.testResults
    .flatMap((file) => file.assertionResults)
    .filter((test) => test.status === "failed")
    .map((test) => test.fullName);
  return { ...result, seconds, passed: report.numPassedTests, failed };
}

/**
 * The tests a generated project brings with the `tests` feature (SPEC §4.5), run by its own
 * `npm test` inside workerd: they pass as generated, they are type-checked, and they catch a Worker
 * that stops checking tokens.
 */
describe.each([
  {
    auth: "self-hosted",
    installed: selfHostedProject,
    // whoami, 9 bad tokens, the CORS preflight, 2 missing settings, 24 per downstream app
    count: 62,
    file: "src/access.ts",
    check: /^\s*audience: config\.audience,\n/m,
    catches: "is refused with 401: a token for another Access application",
  },
  {
    auth: "saas",
    installed: saasProject,
    // whoami after a sign-in, 2 bad bearer tokens, 7 bad ID tokens, 6 missing secrets, 2 refreshes,
    // 2 under wrangler dev, the consent page, 6 for metadata-document clients, 3 redirect URI
    // schemes, 24 per downstream app
    count: 75,
    file: "src/access-oidc.ts",
    check: /^\s*audience: config\.clientId,\n/m,
    catches: "ends with 400 and no grant: for another client",
  },
])("the $auth project's own tests", ({ auth, installed, count, file, check, catches }) => {
  let root: string;
  let project: string;

  beforeAll(async () => {
    root = mkdtempSync(join(e2eRoot, `own-tests-${auth}-`));
    const generated = await runCli(
      ["srv", "--auth", auth, "--team", "acme", "--allow-domain", "example.com", "--features", "tests", "--downstream", "wiki=https://wiki.example.com/api", "--no-install", "--no-git"],
      { cwd: root },
    );
    expect(generated.code, generated.stderr).toBe(0);
    project = join(root, "srv");
    // Same dependencies as the shared project of this mode (test/e2e/setup.ts): reuse its install.
    symlinkSync(join(installed, "node_modules"), join(project, "node_modules"));
  });
  afterAll(() => {
    if (root && existsSync(root)) rmSync(root, { recursive: true, force: true });
  });

  it("pass under npm test, with no account and no network: auth, whoami, and call_wiki against a stub app", async () => {
    const result = await npmTest(project);
    console.log(`${auth}: npm test ran ${result.passed} tests in ${result.seconds.toFixed(1)} s`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.failed).toEqual([]);
    expect(result.passed).toBe(count);
  });

  it("are type-checked by npm run typecheck", async () => {
    const result = await run("npm", ["run", "typecheck"], { cwd: project });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("tsc --noEmit -p test");
  });

  it("fail, naming the test, when the Worker stops checking the audience", async () => {
    const path = join(project, file);
    const source = readFileSync(path, "utf8");
    expect(source).toMatch(check);
    writeFileSync(path, source.replace(check, ""));
    const result = await npmTest(project);
    expect(result.code).not.toBe(0);
    expect(result.failed).toEqual([expect.stringContaining(catches)]);
    expect(result.stdout).toContain(catches);
  });
});
