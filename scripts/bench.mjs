// npm run bench (SPEC §8): how fast and how small create-mcp-access is, next to
// other create tools on the same machine. A benchmark, not a test: it prints
// figures and ratios against the targets of issue 8 and never fails on them.
//
//   node scripts/bench.mjs [--runs N] [--refresh] [--no-worker] [--startup [--startup-runs N]] [--keep] [--json FILE]
//
// 1. builds and packs this package, installs the tarball into a temp project;
// 2. installs create-vite and create-cloudflare from the registry into
//    .cache/bench/ (once; --refresh for the latest again);
// 3. times, interleaved in a shuffled order each round, after warm-up runs:
//    `--help` of all three, and our full non-interactive generation
//    (`--yes --no-install --no-git`); reports medians and quartiles;
// 4. measures installed size and package count of each;
// 5. generates and installs a project per auth mode and bundles its Worker
//    with `wrangler deploy --dry-run --outdir`, gzip -9 (--no-worker skips it);
// 6. with --startup, the cold start of each Worker next to an empty Worker's
//    built in the same run (the floor): startup CPU by `wrangler check startup`,
//    and the first authenticated `whoami` of each protocol era in a new isolate
//    (scripts/startup.mjs); offline, about a minute per 5 runs.
//
// The other tools only ever run with --help, with telemetry off, no update
// check (CI=1) and a throwaway HOME, so they contact nothing and write nothing
// outside the temp folder.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { parse as parseJsonc } from "jsonc-parser";
import { activeMs, measureColdStarts } from "./startup.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const options = parseOptions(process.argv.slice(2));
const competitors = ["create-vite", "create-cloudflare"];
const targets = { installedBytes: 1_000_000, packages: 1, helpVsVite: 1.2, generateVsHelp: 1.5, workerGzipKiB: 200 };
const work = mkdtempSync(join(tmpdir(), "cma-bench-"));

async function main() {
  // Installs and wrangler see the user's environment minus npm's per-script variables (our CLI
  // reads npm_config_* back as options); timed runs also get a throwaway HOME.
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("npm_") && !["NODE_OPTIONS", "NODE_COMPILE_CACHE", "INIT_CWD"].includes(key)),
  );
  const quietEnv = { ...baseEnv, CI: "1", NO_COLOR: "1", DO_NOT_TRACK: "1", CREATE_CLOUDFLARE_TELEMETRY_DISABLED: "1", WRANGLER_SEND_METRICS: "false" };
  const timedEnv = { ...quietEnv, HOME: join(work, "home") };
  mkdirSync(timedEnv.HOME);

  step("building and packing create-mcp-access");
  must("npm", ["run", "build", "--silent"], { cwd: root, env: baseEnv });
  const [packed] = JSON.parse(must("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: root, env: baseEnv }).stdout);
  const ours = install("create-mcp-access", join(work, "ours"), join(work, packed.filename), baseEnv);

  const tools = [ours];
  for (const name of competitors) {
    const dir = join(root, ".cache", "bench", name);
    if (options.refresh || !existsSync(join(dir, "node_modules", name, "package.json"))) {
      rmSync(dir, { recursive: true, force: true });
      install(name, dir, `${name}@latest`, baseEnv);
    }
    tools.push(installed(name, dir));
  }

  // Timed commands, each run as `node <bin> …` so no package-manager wrapper is counted.
  const commands = tools.map((tool) => ({ label: `${tool.name} --help`, tool, args: ["--help"] }));
  let generated = 0;
  const generate = {
    label: "create-mcp-access --yes --no-install --no-git",
    tool: ours,
    args: () => [join(work, "gen", `p${generated++}`), "--yes", "--no-install", "--no-git"],
    after: () => rmSync(join(work, "gen"), { recursive: true, force: true }),
  };
  commands.push(generate);

  const host = machine(); // the load average as the timing starts
  step(`timing: ${options.warmup} warm-up and ${options.runs} measured runs of each, interleaved in a shuffled order`);
  const times = new Map(commands.map((command) => [command, []]));
  for (let round = -options.warmup; round < options.runs; round++) {
    for (const command of shuffle([...commands])) {
      const ms = time(command, timedEnv);
      if (round >= 0) times.get(command).push(ms);
    }
    process.stdout.write(round === options.runs - 1 ? "\n" : ".");
  }
  const stats = new Map([...times].map(([command, list]) => [command, summary(list)]));

  let workers = [];
  if (options.worker || options.startup) {
    step("generating, installing and bundling a project per auth mode (wrangler deploy --dry-run)");
    workers = await Promise.all(["self-hosted", "saas"].map((mode) => workerBundle(ours, mode, quietEnv)));
  }

  let coldStarts;
  if (options.startup) {
    coldStarts = await measureStartups(workers, quietEnv);
  }

  const result = { date: new Date().toISOString(), machine: host, runs: options.runs, packed, tools, stats, workers, coldStarts, commands };
  report(result);
  if (options.json) {
    writeFileSync(options.json, JSON.stringify(toJson(result), null, 2));
    console.log(`\n(figures written to ${options.json})`);
  }
}

function parseOptions(argv) {
  const parsed = { runs: 15, warmup: 2, refresh: false, worker: true, startup: false, startupRuns: 5, keep: false, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--runs") parsed.runs = Number(argv[++i]);
    else if (arg === "--warmup") parsed.warmup = Number(argv[++i]);
    else if (arg === "--refresh") parsed.refresh = true;
    else if (arg === "--no-worker") parsed.worker = false;
    else if (arg === "--startup") parsed.startup = true;
    else if (arg === "--startup-runs") parsed.startupRuns = Number(argv[++i]);
    else if (arg === "--keep") parsed.keep = true;
    else if (arg === "--json") parsed.json = argv[++i];
    else {
      console.error(`bench: unknown option ${arg}\nusage: node scripts/bench.mjs [--runs N] [--warmup N] [--refresh] [--no-worker] [--startup [--startup-runs N]] [--keep] [--json FILE]`);
      process.exit(2);
    }
  }
  if (!(parsed.runs >= 1) || !(parsed.warmup >= 0) || !(parsed.startupRuns >= 1)) {
    console.error("bench: --runs and --startup-runs must be at least 1 and --warmup at least 0");
    process.exit(2);
  }
  return parsed;
}

function step(text) {
  console.log(`bench: ${text}`);
}

function must(command, args, { cwd, env }) {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal}) in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Installs `spec` into an empty project at `dir`, as `npm create`/`npx` would (no install scripts). */
function install(name, dir, spec, env) {
  step(`installing ${spec.startsWith("/") ? `${name} from its tarball` : `${spec} from the registry into ${dir}`}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "bench-install", private: true }, null, 2)}\n`);
  must("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", spec], { cwd: dir, env });
  return installed(name, dir);
}

/** A tool installed in `dir`: its version, bin script, size on disk and number of packages. */
function installed(name, dir) {
  const modules = join(dir, "node_modules");
  const manifest = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
  const bin = typeof manifest.bin === "string" ? manifest.bin : (manifest.bin[name] ?? Object.values(manifest.bin)[0]);
  return { name, version: manifest.version, bin: join(modules, name, bin), ...measureModules(modules) };
}

/** Bytes of every regular file under node_modules (npm's own dot files and .bin links left out), and the packages in it. */
function measureModules(modules) {
  let bytes = 0;
  let files = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        bytes += lstatSync(path).size;
        files++;
      }
    }
  };
  let packages = 0;
  const countPackages = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".") || !entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      const folders = entry.name.startsWith("@") ? readdirSync(path).map((name) => join(path, name)) : [path];
      for (const folder of folders) {
        if (existsSync(join(folder, "package.json"))) packages++;
        if (existsSync(join(folder, "node_modules"))) countPackages(join(folder, "node_modules"));
      }
    }
  };
  for (const entry of readdirSync(modules, { withFileTypes: true })) {
    if (!entry.name.startsWith(".") && entry.isDirectory()) walk(join(modules, entry.name));
  }
  countPackages(modules);
  return { bytes, files, packages };
}

function time(command, env) {
  const args = typeof command.args === "function" ? command.args() : command.args;
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [command.tool.bin, ...args], { cwd: work, env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command.label} failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  command.after?.();
  return ms;
}

function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

function summary(list) {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (q) => {
    const position = (sorted.length - 1) * q;
    const low = Math.floor(position);
    return sorted[low] + (sorted[Math.ceil(position)] - sorted[low]) * (position - low);
  };
  return { median: at(0.5), p25: at(0.25), p75: at(0.75), min: sorted[0], max: sorted.at(-1), n: sorted.length };
}

/** Generates a project in `mode` with its install (as a user would), then bundles it as `wrangler deploy` would. */
async function workerBundle(ours, mode, env) {
  const dir = join(work, `worker-${mode}`);
  const args = [ours.bin, dir, "--auth", mode, "--team", "acme", "--allow-domain", "example.com", "--no-git"];
  await spawnAsync(process.execPath, args, { cwd: work, env });
  const outdir = join(dir, ".bench-bundle");
  await spawnAsync(join(dir, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir], { cwd: dir, env });
  let bytes = 0;
  let gzipBytes = 0;
  const modules = [];
  for (const file of readdirSync(outdir, { recursive: true })) {
    if (!/\.(m?js|cjs|wasm)$/.test(file)) continue;
    const contents = readFileSync(join(outdir, file));
    bytes += contents.length;
    gzipBytes += gzipSync(contents, { level: 9 }).length;
    modules.push(file);
  }
  return { mode, dir, bytes, gzipBytes, modules };
}

/** A Worker that answers every request with a constant, on the generated projects' compatibility date and flags: the floor. */
function emptyWorker(projectDir) {
  const dir = join(work, "worker-empty");
  const config = parseJsonc(readFileSync(join(projectDir, "wrangler.jsonc"), "utf8"));
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "src", "index.js"), 'export default { fetch: () => new Response("ok") };\n');
  const { compatibility_date, compatibility_flags, minify } = config;
  writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ name: "empty", main: "src/index.js", compatibility_date, compatibility_flags, minify }, null, 2));
  symlinkSync(join(projectDir, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/** Startup CPU by `wrangler check startup` and the first `whoami` per era, each Worker and the floor, interleaved. */
async function measureStartups(workers, env) {
  const runs = options.startupRuns;
  const subjects = [{ mode: "empty", dir: emptyWorker(workers[0].dir) }, ...workers];
  step(`cold starts: ${runs} × \`wrangler check startup\` of each Worker and of an empty one (the floor), interleaved`);
  const checks = new Map(subjects.map((subject) => [subject, []]));
  const outfile = join(work, "startup.cpuprofile");
  for (let round = 0; round < runs; round++) {
    for (const subject of shuffle([...subjects])) {
      must(join(subject.dir, "node_modules", ".bin", "wrangler"), ["check", "startup", "--outfile", outfile], { cwd: subject.dir, env });
      checks.get(subject).push(activeMs(JSON.parse(readFileSync(outfile, "utf8"))));
    }
  }
  const eras = {};
  for (const era of ["2025-11-25", "2026-07-28"]) {
    step(`cold starts: startup and the first whoami (${era}) in ${runs} new isolates per Worker, interleaved (scripts/startup.mjs)`);
    eras[era] = await measureColdStarts(subjects.map((subject) => subject.dir), { runs, era });
  }
  return subjects.map((subject, index) => ({
    mode: subject.mode,
    checkStartupMs: summary(checks.get(subject)),
    eras: Object.fromEntries(Object.entries(eras).map(([era, results]) => [era, results[index]])),
  }));
}

async function spawnAsync(command, args, { cwd, env }) {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} failed (exit ${code}):\n${output}`))));
  });
}

function machine() {
  const list = cpus();
  return {
    cores: list.length,
    cpu: list[0]?.model.trim() ?? "unknown",
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    // Timings on a busy machine are slower; the interleaving keeps the ratios fair.
    load: loadavg()[0],
  };
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value) => `${value.toFixed(1)} ms`;
const ratio = (value) => `${value.toFixed(2)}×`;
const spread = (s) => `${ms(s.median)} (${s.p25.toFixed(1)}–${s.p75.toFixed(1)})`;

function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  const line = (row) => `| ${row.map((cell, column) => String(cell).padEnd(widths[column])).join(" | ")} |`;
  return [line(rows[0]), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

function report({ date, machine, runs, packed, tools, stats, workers, coldStarts, commands }) {
  const [ours, vite] = tools;
  const help = (tool) => stats.get(commands.find((command) => command.tool === tool && command.args[0] === "--help"));
  const generate = stats.get(commands.at(-1));
  console.log(`\ncreate-mcp-access bench, ${date.slice(0, 10)}: ${machine.cores} × ${machine.cpu}, ${machine.platform}, Node ${machine.node}, load ${machine.load.toFixed(2)}`);
  console.log(`${runs} interleaved runs per command; times are medians (25th–75th percentile), process start to exit\n`);

  console.log(
    table([
      ["", ...tools.map((tool) => `${tool.name} ${tool.version}`)],
      ["installed size", ...tools.map((tool) => mb(tool.bytes))],
      ["packages installed", ...tools.map((tool) => String(tool.packages))],
      ["files installed", ...tools.map((tool) => String(tool.files))],
      ["`--help`", ...tools.map((tool) => spread(help(tool)))],
      ["`--help` ÷ ours", ...tools.map((tool) => ratio(help(tool).median / help(ours).median))],
    ]),
  );
  console.log(`\ncreate-mcp-access tarball: ${packed.entryCount} files, ${(packed.size / 1000).toFixed(1)} kB packed, ${(packed.unpackedSize / 1000).toFixed(1)} kB unpacked`);
  console.log(`full generation (\`--yes --no-install --no-git\`): ${spread(generate)}`);
  for (const worker of workers) console.log(`${worker.mode} Worker (wrangler deploy --dry-run): ${kib(worker.bytes)}, ${kib(worker.gzipBytes)} gzip -9 (${worker.modules.join(", ")})`);

  const met = (ok) => (ok ? "met" : "NOT met");
  const rows = [
    ["target", "measured", ""],
    [`installed size ≤ ${mb(targets.installedBytes)}`, mb(ours.bytes), met(ours.bytes <= targets.installedBytes)],
    ["one package installed", String(ours.packages), met(ours.packages === targets.packages)],
    [
      `\`--help\` ≤ ${targets.helpVsVite}× create-vite's`,
      `${ratio(help(ours).median / help(vite).median)} (${ms(help(ours).median)} vs ${ms(help(vite).median)})`,
      met(help(ours).median / help(vite).median <= targets.helpVsVite),
    ],
    [
      `full generation ≤ ${targets.generateVsHelp}× our \`--help\``,
      `${ratio(generate.median / help(ours).median)} (${ms(generate.median)} vs ${ms(help(ours).median)})`,
      met(generate.median / help(ours).median <= targets.generateVsHelp),
    ],
    ...workers.map((worker) => [
      `${worker.mode} Worker ≤ ${targets.workerGzipKiB} KiB gzipped`,
      `${kib(worker.gzipBytes)} (${kib(worker.bytes)} raw)`,
      met(worker.gzipBytes / 1024 <= targets.workerGzipKiB),
    ]),
  ];
  console.log(`\n${table(rows)}`);
  if (!workers.length) console.log("(Worker bundles skipped: --no-worker)");
  if (coldStarts) reportColdStarts(coldStarts);
}

function reportColdStarts(coldStarts) {
  const [floor] = coldStarts;
  const eras = Object.keys(floor.eras);
  // CPU is the profile's non-idle time; an empty Worker's is about 0, so the ratios are of wall
  // times (dispatch round trips as Node sees them), whose floor is workerd's own request overhead.
  const times = (pick) => coldStarts.map((subject) => ms(pick(subject)));
  const walls = (pick) => coldStarts.map((subject) => `${ms(pick(subject))}${subject === floor ? "" : ` (${ratio(pick(subject) / pick(floor))})`}`);
  console.log(`\nCold start, medians of ${floor.checkStartupMs.n} runs interleaved; CPU = the profile's non-idle time; (×) = ÷ the empty Worker's`);
  console.log(
    table([
      ["", "empty Worker (floor)", ...coldStarts.slice(1).map((subject) => `${subject.mode} Worker`)],
      ["startup CPU, `wrangler check startup`", ...times((subject) => subject.checkStartupMs.median)],
      ...eras.flatMap((era) => [
        [`first whoami CPU (${era})`, ...times((subject) => subject.eras[era].firstCpuMs)],
        [`startup + first whoami CPU (${era})`, ...times((subject) => subject.eras[era].coldCpuMs)],
        [`startup + first whoami wall (${era})`, ...walls((subject) => subject.eras[era].coldWallMs)],
      ]),
    ]),
  );
}

function toJson({ date, machine, runs, packed, tools, stats, workers, coldStarts }) {
  return {
    date,
    machine,
    runs,
    tarball: { files: packed.entryCount, size: packed.size, unpackedSize: packed.unpackedSize },
    tools: tools.map(({ name, version, bytes, files, packages }) => ({ name, version, bytes, files, packages })),
    timings: Object.fromEntries([...stats].map(([command, value]) => [command.label, value])),
    workers,
    coldStarts,
  };
}

try {
  await main();
} finally {
  if (options.keep) console.log(`(kept ${work})`);
  else rmSync(work, { recursive: true, force: true });
}
