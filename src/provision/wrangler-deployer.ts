import { rmSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeFailure } from "../errors.js";
import type { Exec } from "../steps/exec.js";
import type { Deployer } from "./context.js";
import type { Redactor } from "./redact.js";

/** The project's own wrangler: the version its package.json asks for. */
export const wranglerBin = (root: string) => join(root, "node_modules", ".bin", "wrangler");

/**
 * `wrangler deploy` with the secrets in a `--secrets-file`: one upload, and
 * the Worker never runs without its secrets. The file lives in a fresh
 * private temporary folder outside the project (mode 0600, in a 0700 folder),
 * and the folder is removed when wrangler is done, whether it succeeded or not.
 * wrangler gets the token, the account and CLOUDFLARE_API_BASE_URL through
 * its environment, as it reads them itself.
 */
export function wranglerDeployer(options: { exec: Exec; env: Record<string, string | undefined>; apiToken: string; redactor: Redactor }): Deployer {
  return {
    describe: ({ worker, secrets }) => {
      const names = Object.keys(secrets);
      return `npx wrangler deploy --config wrangler.jsonc --name ${worker}${names.length ? ` --secrets-file <a temporary file, mode 0600, removed after the deploy, holding ${names.join(", ")}>` : ""}`;
    },
    deploy: async ({ root, accountId, worker, secrets }) => {
      const dir = await mkdtemp(join(tmpdir(), "mcp-access-deploy-"));
      // Ctrl-C exits the process from its signal handler, before this function's `finally` could run.
      const removeOnExit = () => rmSync(dir, { recursive: true, force: true });
      process.once("exit", removeOnExit);
      try {
        // Exactly what provision proved and wrote: the Worker it proved is this project's, whatever name the file says, and
        // wrangler.jsonc with the ids it brought in (wrangler would prefer a wrangler.json beside it, or a .wrangler/deploy redirect).
        const args = ["deploy", "--config", "wrangler.jsonc", "--name", worker];
        if (Object.keys(secrets).length) {
          const file = join(dir, "secrets.json");
          await writeFile(file, JSON.stringify(secrets), { mode: 0o600, flag: "wx" });
          args.push("--secrets-file", file);
        }
        const outputFile = join(dir, "wrangler-output.jsonl");
        const env: NodeJS.ProcessEnv = {
          // Its output is read, not shown: no banner, and so no update check against the npm registry.
          WRANGLER_HIDE_BANNER: "true",
          ...options.env,
          CLOUDFLARE_API_TOKEN: options.apiToken,
          CLOUDFLARE_ACCOUNT_ID: accountId,
          WRANGLER_OUTPUT_FILE_PATH: outputFile,
        };
        const result = await options.exec(wranglerBin(root), args, { cwd: root, env });
        if (result.code !== 0) {
          throw new RuntimeFailure(
            `wrangler deploy failed (exit ${result.code}):\n${options.redactor.redact(errorPart(result.output))}\n` +
              "Everything before the deploy is in place and recorded in mcp-access.json: run provision again once this is fixed.",
          );
        }
        return { url: await deployedUrl(outputFile) };
      } finally {
        process.off("exit", removeOnExit);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The first target of wrangler's machine-readable deploy record (WRANGLER_OUTPUT_FILE_PATH) that is
 * a URL: a custom-domain route is listed by its pattern, which is not one.
 */
async function deployedUrl(outputFile: string): Promise<string | undefined> {
  const text = await readFile(outputFile, "utf8").catch(() => "");
  for (const line of text.split("\n").reverse()) {
    try {
      const record = JSON.parse(line) as { type?: string; targets?: string[] };
      if (record.type === "deploy") return record.targets?.find((target) => /^https:\/\/[^/\s]+/.test(target));
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** wrangler's own error, from its "✘ [ERROR]" line on (the bindings table before it is noise here); else its last lines. */
function errorPart(output: string): string {
  const lines = stripAnsi(output).trimEnd().split("\n");
  const start = lines.findIndex((line) => line.includes("[ERROR]"));
  return (start < 0 ? lines.slice(-20) : lines.slice(start, start + 20)).join("\n").trim();
}

/** wrangler colours its errors even with NO_COLOR set. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");
}
