import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The pipeline of CONTRIBUTING.md ("The code"), lowest rung first. A module
 * may import from its own layer or from a lower rung; never from a higher
 * rung, nor from the other layer on its own rung. Type-only imports count:
 * they couple the modules just the same.
 */
const RUNGS: string[][] = [
  ["shared"], // errors.ts, fs.ts, ui.ts, package-root.ts: used everywhere
  ["config"], // the validated Config and every rule about it
  ["answers", "steps"], // answers are checked by config's validation; steps (install, git, exec) are a leaf
  ["render"],
  ["apply"],
  ["provision"],
  ["doctor", "destroy"], // doctor checks a deployment, destroy tears it down: each with provision's own builders, proofs and API
  ["commands"],
  ["entry"], // cli.ts, run.ts and help.ts: parse argv, print help, pick a command
];

const TOP_LEVEL_FILES: Record<string, string> = {
  "errors.ts": "shared",
  "fs.ts": "shared",
  "ui.ts": "shared",
  "package-root.ts": "shared",
  "untrusted.ts": "shared",
  // help.ts reads config/options.ts for the lists it prints, so it is not a bottom.
  "help.ts": "entry",
  "run.ts": "entry",
  "cli.ts": "entry",
};

const SRC = resolve(import.meta.dirname, "../../src");

/** Source files, as `/`-separated paths relative to src/. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [relative(SRC, path).split("\\").join("/")] : [];
  });
}

/** `foo/bar.ts` → `foo`; a file directly in src/ → its entry in TOP_LEVEL_FILES. */
function layerOf(file: string): string | undefined {
  const slash = file.indexOf("/");
  return slash === -1 ? TOP_LEVEL_FILES[file] : file.slice(0, slash);
}

const rungOf = (layer: string) => RUNGS.findIndex((rung) => rung.includes(layer));

/** The src/ files `file` imports: static, type-only, `export … from` and dynamic `import()`. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(SRC, file), "utf8"), true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => join(dirname(file), specifier.replace(/\.js$/, ".ts")).split("\\").join("/"));
}

const files = sourceFiles();
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** Every import cycle among `nodes`, each as `a.ts → b.ts → a.ts`, found by depth-first search. */
function cycles(nodes: string[]): string[] {
  const inScope = new Set(nodes);
  const found = new Set<string>();
  const done = new Set<string>();
  const visit = (file: string, path: string[]) => {
    const loopStart = path.indexOf(file);
    if (loopStart !== -1) {
      const loop = path.slice(loopStart);
      // Start each cycle at its smallest name so one cycle reached from two places is listed once.
      const first = loop.indexOf([...loop].sort()[0]!);
      const rotated = [...loop.slice(first), ...loop.slice(0, first)];
      found.add([...rotated, rotated[0]].join(" → "));
      return;
    }
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) if (inScope.has(next)) visit(next, [...path, file]);
    done.add(file);
  };
  for (const file of nodes) visit(file, []);
  return [...found].sort();
}

describe("module layers (the pipeline answers → config → render → apply → provision → commands)", () => {
  it("puts every file under src/ in a layer", () => {
    expect(files.filter((file) => rungOf(layerOf(file) ?? "") === -1)).toEqual([]);
  });

  it("resolves every relative import to a file under src/", () => {
    const missing = [...graph].flatMap(([file, imports]) => imports.filter((target) => !graph.has(target)).map((target) => `${file} → ${target}`));
    expect(missing).toEqual([]);
  });

  it("has no import pointing up the pipeline or across to a sibling layer", () => {
    const wrong = [...graph].flatMap(([file, imports]) => {
      const from = layerOf(file)!;
      return imports
        .filter((target) => {
          const to = layerOf(target)!;
          return to !== from && rungOf(to) >= rungOf(from);
        })
        .map((target) => `${file} (${from}) → ${target} (${layerOf(target)})`);
    });
    expect(wrong).toEqual([]);
  });

  // The rule above keeps cycles inside one layer; this finds those (render/ had two, through templates.ts).
  it("has no import cycle, within a layer or across layers", () => {
    expect(cycles(files)).toEqual([]);
  });

  // The checks above must see the kinds of import the code uses, or they would pass vacuously.
  it("sees type-only and dynamic imports", () => {
    expect(graph.get("config/availability.ts")).toContain("config/config.ts"); // import type
    expect(graph.get("run.ts")).toContain("commands/create.ts"); // await import("./commands/create.js")
    expect(graph.get("cli.ts")).toContain("run.ts");
  });
});
