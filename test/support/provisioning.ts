import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join, relative } from "node:path";
import { type FakeCloudflare, startFakeCloudflare, type FakeOptions } from "./fake-cloudflare.mjs";
import { installedPackage, repoRoot } from "./processes.js";

/**
 * What the provisioning end-to-end tests share: the local fake of the
 * Cloudflare API, an environment that points the CLI, the SDK and wrangler at
 * it (and nowhere else), and generated projects wired to an installed
 * node_modules without installing again.
 */
export class Provisioning {
  private constructor(
    readonly fake: FakeCloudflare,
    /** HOME, XDG_CONFIG_HOME and TMPDIR of every process: wrangler's logs and the secrets file land here, not in the user's home. */
    readonly sandbox: string,
  ) {}

  static async start(root: string, options: FakeOptions = {}): Promise<Provisioning> {
    const fake = await startFakeCloudflare(options);
    const sandbox = mkdtempSync(join(root, "sandbox-"));
    for (const dir of ["home", "xdg", "tmp"]) mkdirSync(join(sandbox, dir));
    return new Provisioning(fake, sandbox);
  }

  get netlog(): string {
    return join(this.sandbox, "net.jsonl");
  }

  /** The environment of a provisioning run: the fake's base URL and token, and every connection recorded. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.fake.env(),
      // The account comes from the token here, as it would for most users.
      CLOUDFLARE_ACCOUNT_ID: "",
      HOME: join(this.sandbox, "home"),
      XDG_CONFIG_HOME: join(this.sandbox, "xdg"),
      TMPDIR: join(this.sandbox, "tmp"),
      NODE_OPTIONS: `--require ${join(repoRoot, "test", "support", "netlog.cjs")}`,
      NETLOG: this.netlog,
      ...extra,
    };
  }

  /** Hosts any process of the runs connected to, other than this machine. */
  foreignConnections(): string[] {
    const lines = readFileSync(this.netlog, "utf8").split("\n").filter(Boolean);
    const hosts = lines.map((line) => JSON.parse(line) as { kind: string; host?: string; origin?: string }).map((entry) => entry.host ?? entry.origin ?? "");
    return [...new Set(hosts)].filter((host) => !/^(127\.0\.0\.1|localhost|::1|\/.*|http:\/\/127\.0\.0\.1:\d+|)$/.test(host));
  }

  /** Deploy folders left in the runs' TMPDIR: the secrets file's folder must be gone. */
  leftoversInTmp(): string[] {
    return readdirSync(join(this.sandbox, "tmp")).filter((name) => name.startsWith("mcp-access-"));
  }

  async stop(): Promise<void> {
    await this.fake.close();
  }
}

/**
 * Gives a project generated with --no-install the node_modules of an installed
 * one (each entry linked), plus this package as installed from its tarball: then
 * the project's own `npm run provision` (npx create-mcp-access@^version)
 * finds it locally, and wrangler deploys with the project's own version.
 */
export function linkNodeModules(project: string, installed: string): void {
  const modules = join(project, "node_modules");
  mkdirSync(join(modules, ".bin"), { recursive: true });
  const from = join(installed, "node_modules");
  for (const entry of readdirSync(from)) if (entry !== ".bin") symlinkSync(join(from, entry), join(modules, entry));
  for (const bin of readdirSync(join(from, ".bin"))) symlinkSync(join(from, ".bin", bin), join(modules, ".bin", bin));
  symlinkSync(installedPackage, join(modules, "create-mcp-access"));
  symlinkSync(join("..", "create-mcp-access", "bin", "create-mcp-access.js"), join(modules, ".bin", "create-mcp-access"));
}

/** Every file under `dir` with its contents, node_modules aside: where a secret must never be. */
export function filesUnder(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (name === "node_modules") continue;
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, "latin1");
    }
  };
  walk(dir);
  return files;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
