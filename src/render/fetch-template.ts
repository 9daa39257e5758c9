import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../errors.js";

/** How long fetching a template may take, all requests together. */
export const FETCH_TIMEOUT_MS = 30_000;

/** Puts the template `source` names into `dir`; `cacheDir` is the only other place it may write. */
export type Download = (source: string, dir: string, cacheDir: string, signal: AbortSignal) => Promise<void>;

/**
 * Fetches `source` with giget into a fresh private temporary folder, hands the template's
 * folder to `use`, and removes the temporary folder afterwards: on success, on error, and on
 * Ctrl-C (the CLI exits then; an exit handler removes it). Nothing is written to the project,
 * nor to giget's shared cache, which is pointed into the temporary folder too: every run
 * fetches afresh, and nothing lingers. Any failure to fetch is a UsageError naming the source
 * and what to check; fetching takes at most `timeoutMs`.
 */
export async function withFetchedTemplate<T>(
  source: string,
  use: (dir: string) => Promise<T>,
  options: { timeoutMs?: number; download?: Download } = {},
): Promise<T> {
  const temp = await mkdtemp(join(tmpdir(), "create-mcp-access-template-"));
  const removeNow = () => rmSync(temp, { recursive: true, force: true });
  process.once("exit", removeNow);
  try {
    const dir = join(temp, "template");
    await fetchBounded(source, dir, join(temp, "cache"), options.timeoutMs ?? FETCH_TIMEOUT_MS, options.download ?? gigetDownload);
    return await use(dir);
  } finally {
    process.off("exit", removeNow);
    await rm(temp, { recursive: true, force: true });
  }
}

/** After the timeout, how long the download gets to wind down (its requests abort at once; a git clone does not). */
const WIND_DOWN_MS = 2_000;

async function fetchBounded(source: string, dir: string, cacheDir: string, timeoutMs: number, download: Download): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const downloading = download(source, dir, cacheDir, controller.signal);
  // The signal stops every request, and the download settles (putting back what it swapped)
  // before the folder is removed; what ignores the signal is waited for only a moment.
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`timed out after ${timeoutMs / 1000} s`));
      let wound: NodeJS.Timeout | undefined;
      const windDown = new Promise((resolve) => (wound = setTimeout(resolve, WIND_DOWN_MS)));
      void Promise.race([downloading.catch(() => {}), windDown]).then(() => {
        clearTimeout(wound);
        reject(controller.signal.reason);
      });
    }, timeoutMs);
  });
  try {
    await Promise.race([downloading, timedOut]);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Could not fetch the template ${JSON.stringify(source)}: ${reasonOf(controller.signal.aborted ? controller.signal.reason : error)}.`, [
      whatToCheck(source),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * giget's downloadTemplate, loaded only now (it is its own chunk of the bundle), with its cache
 * in `cacheDir` and every request it makes bound to `signal`. giget takes neither as an option:
 * its cache folder comes from XDG_CACHE_HOME (the temporary folder on Windows) and it calls the
 * global fetch, so both are swapped for the download and put back after it. Nothing else runs in
 * the CLI meanwhile.
 */
export const gigetDownload: Download = async (source, dir, cacheDir, signal) => {
  const { downloadTemplate } = await import("giget");
  const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, TEMP: process.env.TEMP, TMP: process.env.TMP };
  const globalFetch = globalThis.fetch;
  process.env.XDG_CACHE_HOME = cacheDir;
  if (process.platform === "win32") process.env.TEMP = process.env.TMP = cacheDir;
  globalThis.fetch = (input, init) => globalFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
  try {
    // registry: false: a bare "org/repo" means GitHub, not giget's own registry of named templates.
    await downloadTemplate(source, { dir, force: true, offline: false, preferOffline: false, registry: false, install: false, silent: true });
  } finally {
    globalThis.fetch = globalFetch;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
};

/** The message of an error and of what caused it (fetch puts ECONNREFUSED two causes down). */
function reasonOf(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const message = current instanceof Error ? current.message : String(current);
    const code = (current as { code?: unknown }).code;
    const part = typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
    if (part && !parts.some((seen) => seen.includes(part))) parts.push(part);
  }
  // giget puts fetch's error into its message as text: "TypeError: fetch failed" reads like a bug, and is not one.
  return parts.join(": ").replace(/\bTypeError: /g, "").replace(/\.$/, "") || "unknown error";
}

function whatToCheck(source: string): string {
  if (/^https?:/i.test(source)) {
    return "Check that the URL is right, that the server answers from this machine, and that it serves a .tar.gz of the template (one top folder, with manifest.json directly inside it).";
  }
  const provider = /^([\w+.-]+):/.exec(source)?.[1];
  if (provider && !["gh", "github", "gitlab", "bitbucket", "sourcehut", "git"].includes(provider) && !provider.endsWith("+git")) {
    return `"${provider}:" is not a source giget knows: give gh:org/repo/path (gitlab:, bitbucket:, sourcehut: alike), a https:// URL of a .tar.gz, or a local folder (./path).`;
  }
  return "Check the repository, the path in it and the ref (gh:org/repo/path#ref), that it is public or that GIGET_AUTH holds a token that can read it, and that this machine reaches the host.";
}
