import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { cleanEnv, repoRoot } from "./processes.js";

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, a devDependency pinned
 * exactly) run as its CLI, the way an SDK's CI runs it, with its results read from the
 * checks.json files it writes rather than from its coloured console output.
 */

const conformanceCli = join(repoRoot, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");

export type CheckStatus = "SUCCESS" | "FAILURE" | "WARNING" | "SKIPPED" | "INFO";

/** One check as the suite records it in checks.json. */
export interface Check {
  id: string;
  name: string;
  description: string;
  status: CheckStatus;
  errorMessage?: string;
  details?: Record<string, unknown>;
}

export interface ScenarioResult {
  scenario: string;
  checks: Check[];
}

export interface ConformanceRun {
  /** The CLI's exit code. */
  code: number;
  /** Its stdout and stderr, interleaved as they came. */
  output: string;
  /** Every scenario it ran, with its checks. */
  scenarios: ScenarioResult[];
  /** Every TCP connect, DNS lookup and HTTP request it made, as test/support/netlog.cjs records them. */
  network: NetworkEvent[];
}

export interface NetworkEvent {
  kind: "connect" | "dns" | "http";
  host?: string;
  origin?: string;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** The runner's network events that went anywhere but loopback. */
export function offLoopback(run: ConformanceRun): NetworkEvent[] {
  return run.network.filter((event) => !LOOPBACK_HOSTS.has(event.kind === "http" ? new URL(event.origin!).hostname : (event.host ?? "")));
}

/** The suite marks a check it could not exercise (a missing prerequisite) with this errorMessage prefix. */
export const NOT_TESTABLE = "Not testable:";

export function isNotTestable(check: Check): boolean {
  return check.errorMessage?.startsWith(NOT_TESTABLE) ?? false;
}

/**
 * Runs `conformance <args>` with its results written to a fresh directory, bounded by `timeoutMs`.
 * `onLine` sees each line of its stdout as it comes (the authorization runner prints there the URL
 * a person must open) and may answer it asynchronously; if that answer fails, or the deadline
 * passes, the process is killed and the run rejects with the reason.
 */
export async function runConformance(
  args: string[],
  options: { timeoutMs: number; onLine?: (line: string) => void | Promise<void> },
): Promise<ConformanceRun> {
  const outputDir = mkdtempSync(join(repoRoot, ".tmp", "conformance-"));
  const netlog = join(outputDir, "network.jsonl");
  try {
    const child = spawn(process.execPath, [conformanceCli, ...args, "--output-dir", outputDir], {
      cwd: outputDir,
      env: cleanEnv({ NODE_OPTIONS: `--require ${join(repoRoot, "test", "support", "netlog.cjs")}`, NETLOG: netlog }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const code = await new Promise<number>((resolve, reject) => {
      const stop = (error: Error) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(error);
      };
      const timer = setTimeout(
        () => stop(new Error(`conformance ${args.join(" ")} did not finish within ${options.timeoutMs} ms:\n${output}`)),
        options.timeoutMs,
      );
      let partial = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk;
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          Promise.resolve(options.onLine?.(line)).catch((error: unknown) =>
            stop(new Error(`answering the conformance runner's line ${JSON.stringify(line)} failed: ${error}\n${output}`, { cause: error })),
          );
        }
      });
      child.stderr.on("data", (chunk: Buffer) => (output += chunk));
      child.on("error", stop);
      child.on("close", (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode ?? 1);
      });
    });
    const network = existsSync(netlog) ? readFileSync(netlog, "utf8").split("\n").filter(Boolean) : [];
    return { code, output, scenarios: readResults(outputDir), network: network.map((line) => JSON.parse(line) as NetworkEvent) };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

// The suite names each result directory `<prefix>-<scenario>-<ISO time with ":" and "." as "-">`.
const RESULT_DIR = /^(?:server|authorization-server)-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

function readResults(outputDir: string): ScenarioResult[] {
  const results: ScenarioResult[] = [];
  for (const entry of readdirSync(outputDir).sort()) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    const file = join(outputDir, entry, "checks.json");
    if (!scenario || !existsSync(file)) continue;
    results.push({ scenario, checks: JSON.parse(readFileSync(file, "utf8")) as Check[] });
  }
  return results;
}

/** One line per check (by default, per check that is not a SUCCESS), for a test's output and failure messages. */
export function describeChecks(results: ScenarioResult[], keep: (check: Check) => boolean = (check) => check.status !== "SUCCESS"): string[] {
  return results.flatMap(({ scenario, checks }) =>
    checks.filter(keep).map((check) => `${scenario} › ${check.id}: ${check.status}${check.errorMessage ? ` (${check.errorMessage})` : ""}`),
  );
}

export interface HeaderProxy {
  origin: string;
  close: () => Promise<void>;
}

/**
 * A loopback reverse proxy that adds credentials to every request it forwards, for clients that
 * cannot send a custom header: the conformance suite's server runner has no option for one.
 *
 * It stands in for the server at its own address. A Host header naming the proxy is rewritten to
 * the upstream's, so the server sees itself addressed as it would be directly; any other Host
 * (a DNS-rebinding probe's) goes through unchanged, as do Origin and every other header and the
 * bodies, streamed both ways (SSE answers arrive as they are written). `upstreamFor` picks the
 * upstream origin per request path, so one proxy can front two servers on one origin, as the
 * self-hosted dev emulator fronts Access's /cdn-cgi/access/* and the Worker.
 */
export async function startHeaderProxy(options: {
  upstreamFor: (path: string) => string;
  headers: (path: string) => Record<string, string>;
}): Promise<HeaderProxy> {
  let ownHosts: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    const upstream = new URL(options.upstreamFor(path));
    const headers: IncomingHttpHeaders = { ...req.headers };
    for (const [name, value] of Object.entries(options.headers(path))) headers[name.toLowerCase()] = value;
    const host = req.headers.host ?? "";
    if (ownHosts.includes(host)) headers.host = `${host.slice(0, host.lastIndexOf(":"))}:${upstream.port}`;
    delete headers.connection;
    const forwarded = httpRequest(
      // A connection per request (no pool): nothing outlives the exchange it served.
      { hostname: upstream.hostname, port: upstream.port, method: req.method, path, headers, agent: false },
      (answer) => {
        const { connection: _connection, "keep-alive": _keepAlive, ...answerHeaders } = answer.headers;
        res.writeHead(answer.statusCode ?? 502, answerHeaders);
        answer.pipe(res);
      },
    );
    forwarded.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${error.message}`);
    });
    req.pipe(forwarded);
    // A client that hangs up (closing an SSE stream, say) hangs up on the upstream too.
    res.on("close", () => {
      if (!res.writableFinished) forwarded.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  ownHosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
