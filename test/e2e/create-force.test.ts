import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../support/processes.js";

/**
 * `create --force` into a directory that already holds things, on a real file system (SPEC §7):
 * it never writes through a symbolic link, and never commits what the directory's own ignore
 * rules excluded.
 */
let cwd: string;
let outside: string;
let srv: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "cma-force-"));
  outside = mkdtempSync(join(tmpdir(), "cma-outside-"));
  srv = join(cwd, "srv");
  mkdirSync(srv);
  writeFileSync(join(srv, "notes.txt"), "mine\n");
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const answers = ["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--no-install"];
const gitIdentity = { GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@example.com" };

/** Every path under `dir` (links listed, not followed), with what each file holds or each link points to. */
function tree(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      const info = lstatSync(path);
      if (info.isSymbolicLink()) found[relative(dir, path)] = `-> ${readlinkSync(path)}`;
      else if (info.isDirectory()) walk(path);
      else found[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return found;
}

const git = (dir: string, ...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8", env: { ...process.env, ...gitIdentity } });

describe("create --force and symbolic links: exit 2, nothing written inside or outside", () => {
  const cases: [string, () => string][] = [
    [
      "a folder the project writes into, linked out of it",
      () => {
        symlinkSync(outside, join(srv, "src"), "dir");
        return "src";
      },
    ],
    [
      "a file the project writes, linked to a file outside",
      () => {
        writeFileSync(join(outside, "config"), "theirs\n");
        symlinkSync(join(outside, "config"), join(srv, "wrangler.jsonc"));
        return "wrangler.jsonc";
      },
    ],
    [
      "a dangling link where a file goes",
      () => {
        symlinkSync(join(outside, "not-yet"), join(srv, "README.md"));
        return "README.md";
      },
    ],
    [
      "a folder linked to another folder inside the project",
      () => {
        mkdirSync(join(srv, "lib"));
        symlinkSync("lib", join(srv, "test"), "dir");
        return "test";
      },
    ],
    [
      "the snapshot's folder, linked out",
      () => {
        symlinkSync(outside, join(srv, ".mcp-access"), "dir");
        return ".mcp-access";
      },
    ],
    [
      "a deeper folder on the way to a file",
      () => {
        mkdirSync(join(srv, ".mcp-access"));
        symlinkSync(outside, join(srv, ".mcp-access", "generated"), "dir");
        return ".mcp-access/generated";
      },
    ],
  ];

  it.each(cases)("%s", async (_, arrange) => {
    const link = arrange();
    const inside = tree(srv);
    const before = tree(outside);
    const result = await runCli(["srv", ...answers, "--force"], { cwd, env: gitIdentity });
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`${link} is a symbolic link`);
    expect(result.stderr).toMatch(/remove the link|replace it|another directory/i);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(tree(srv)).toEqual(inside);
    expect(tree(outside)).toEqual(before);
    expect(readdirSync(cwd)).toEqual(["srv"]); // no staging folder left behind
  });

  it("the directory itself, when it is a link", async () => {
    rmSync(srv, { recursive: true });
    symlinkSync(outside, srv, "dir");
    const result = await runCli(["srv", ...answers, "--force"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("is a symbolic link");
    expect(result.stderr).toContain(outside);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(cwd)).toEqual(["srv"]);
  });

  it("--dry-run reports the same refusal", async () => {
    symlinkSync(outside, join(srv, "src"), "dir");
    const result = await runCli(["srv", ...answers, "--force", "--dry-run"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("src is a symbolic link");
  });

  it("a link the project does not write through is left alone", async () => {
    symlinkSync(outside, join(srv, "docs"), "dir");
    const result = await runCli(["srv", ...answers, "--no-git", "--force"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(readlinkSync(join(srv, "docs"))).toBe(outside);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(srv, "src", "index.ts"))).toBe(true);
  });
});

describe("create --force and git: nothing the directory ignored is committed", () => {
  it("keeps every line of the existing .gitignore, adds its own, and commits only the generated files", async () => {
    const theirs = "# our secrets\nsecrets/\nid_rsa\n*.pem\n!keep.pem\n";
    writeFileSync(join(srv, ".gitignore"), theirs);
    mkdirSync(join(srv, "secrets"));
    writeFileSync(join(srv, "secrets", "prod.env"), "TOKEN=x\n");
    writeFileSync(join(srv, "id_rsa"), "PRIVATE KEY\n");
    writeFileSync(join(srv, "server.pem"), "CERT\n");
    // A nested repository and a folder with its own ignore rules: neither is the generator's to commit.
    mkdirSync(join(srv, "vendor", "lib"), { recursive: true });
    git(join(srv, "vendor", "lib"), "init", "--quiet");
    mkdirSync(join(srv, "private"));
    writeFileSync(join(srv, "private", ".gitignore"), "*\n");
    writeFileSync(join(srv, "private", "key"), "k\n");

    const result = await runCli(["srv", ...answers, "--force"], { cwd, env: gitIdentity });
    expect(result.code, result.stdout + result.stderr).toBe(0);

    const gitignore = readFileSync(join(srv, ".gitignore"), "utf8");
    for (const line of theirs.split("\n")) expect(gitignore.split("\n")).toContain(line);
    expect(gitignore).toContain("node_modules/");
    expect(gitignore).toContain(".dev.vars\n");
    // Their rules come last, so nothing they decided is overruled by ours.
    expect(gitignore.endsWith(theirs)).toBe(true);

    const tracked = git(srv, "ls-files").split("\n");
    for (const secret of ["secrets/prod.env", "id_rsa", "server.pem", "private/key", "private/.gitignore", "notes.txt", "vendor/lib"]) {
      expect(tracked).not.toContain(secret);
    }
    for (const generated of [".gitignore", "src/index.ts", "wrangler.jsonc", "mcp-access.json", ".mcp-access/generated/src/index.ts.snapshot"]) {
      expect(tracked).toContain(generated);
    }
    expect(git(srv, "log", "--format=%s").trim()).toBe("Initial commit from create-mcp-access");
    // The user's own files are still there, untracked or ignored as before.
    expect(readFileSync(join(srv, "id_rsa"), "utf8")).toBe("PRIVATE KEY\n");
  });

  it("does not commit a generated file the directory's rules or the user's global excludes ignore, and says so", async () => {
    writeFileSync(join(srv, ".gitignore"), "*.md\n");
    writeFileSync(join(outside, "excludes"), "wrangler.jsonc\n");
    writeFileSync(join(outside, "gitconfig"), `[core]\n\texcludesFile = ${join(outside, "excludes")}\n`);
    // A lock file of the user's own: this run installed nothing, so it is not the run's to commit.
    writeFileSync(join(srv, "package-lock.json"), "{}\n");
    const result = await runCli(["srv", ...answers, "--force"], { cwd, env: { ...gitIdentity, GIT_CONFIG_GLOBAL: join(outside, "gitconfig") } });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const tracked = git(srv, "ls-files").split("\n");
    expect(tracked).not.toContain("README.md");
    expect(tracked).not.toContain("wrangler.jsonc");
    expect(tracked).not.toContain("package-lock.json");
    expect(tracked).toContain("src/index.ts");
    expect(result.stdout + result.stderr).toMatch(/not committed.*README\.md, wrangler\.jsonc/is);
  });

  it("a second create --force keeps the merged .gitignore as it is", async () => {
    writeFileSync(join(srv, ".gitignore"), "secrets/\n");
    expect((await runCli(["srv", ...answers, "--no-git", "--force"], { cwd })).code).toBe(0);
    const once = readFileSync(join(srv, ".gitignore"), "utf8");
    expect((await runCli(["srv", ...answers, "--no-git", "--force"], { cwd })).code).toBe(0);
    expect(readFileSync(join(srv, ".gitignore"), "utf8")).toBe(once);
  });

  it("commits nothing in a directory that is already a repository", async () => {
    git(srv, "init", "--quiet");
    writeFileSync(join(srv, "id_rsa"), "PRIVATE KEY\n");
    const result = await runCli(["srv", ...answers, "--force"], { cwd, env: gitIdentity });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/inside a git repository already: nothing committed/);
    expect(git(srv, "ls-files")).toBe("");
  });
});

describe("regenerate and symbolic links", () => {
  it("leaves a linked folder, a linked file and a dangling link alone, inside and outside", async () => {
    rmSync(srv, { recursive: true });
    expect((await runCli(["srv", ...answers, "--no-git"], { cwd })).code).toBe(0);
    // src is replaced by a link to a copy outside; .dev.vars.example and README.md point out too.
    mkdirSync(join(outside, "src"));
    for (const name of readdirSync(join(srv, "src"))) writeFileSync(join(outside, "src", name), readFileSync(join(srv, "src", name)));
    rmSync(join(srv, "src"), { recursive: true });
    symlinkSync(join(outside, "src"), join(srv, "src"), "dir");
    writeFileSync(join(outside, "vars"), "theirs\n");
    rmSync(join(srv, ".dev.vars.example"));
    symlinkSync(join(outside, "vars"), join(srv, ".dev.vars.example"));
    rmSync(join(srv, "README.md"));
    symlinkSync(join(outside, "gone.md"), join(srv, "README.md"));
    // A new name and a new feature: src/server.ts, .dev.vars.example and README.md would all change, src/examples.ts appear.
    const config = JSON.parse(readFileSync(join(srv, "mcp-access.json"), "utf8"));
    writeFileSync(join(srv, "mcp-access.json"), JSON.stringify({ ...config, name: "renamed", team: "https://beta.cloudflareaccess.com", features: ["tests", "examples"] }, null, 2));
    const before = tree(outside);

    const result = await runCli(["regenerate"], { cwd: srv });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/src is a symbolic link/);
    expect(tree(outside)).toEqual(before);
    expect(readlinkSync(join(srv, "src"))).toBe(join(outside, "src"));
    expect(readlinkSync(join(srv, ".dev.vars.example"))).toBe(join(outside, "vars"));
    expect(readlinkSync(join(srv, "README.md"))).toBe(join(outside, "gone.md"));
    expect(readFileSync(join(srv, "package.json"), "utf8")).toContain('"name": "renamed"'); // the rest went through
  });
});
