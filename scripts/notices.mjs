// Third-party notices for the published package (SPEC §8): every library is
// bundled into dist/, so its licence has to travel with it. esbuild's metafile
// says which packages actually put code into the output (a package tree-shaken
// away entirely is not listed); for each, this copies its licence (and NOTICE)
// files verbatim into one text file.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

/** The folder of the package a bundled input path belongs to, e.g. `node_modules/@clack/core`. */
export function packageDirOf(inputPath) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(inputPath.replaceAll("\\", "/"));
  return match?.[1];
}

/** Package folders with at least one byte in some output file, sorted by package name. */
export function bundledPackageDirs(metafile) {
  const dirs = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const dir = bytesInOutput > 0 ? packageDirOf(input) : undefined;
      if (dir) dirs.add(dir);
    }
  }
  const name = (dir) => dir.slice(dir.lastIndexOf("node_modules/") + "node_modules/".length);
  return [...dirs].sort((a, b) => name(a).localeCompare(name(b)) || a.localeCompare(b));
}

const LICENCE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;
// A package that bundles other code itself lists those licences in a file like this (giget: dist/THIRD-PARTY-LICENSES.md).
const BUNDLED_LICENCES_FILE = /^third[-_]party[-_](licen[cs]es|notices)([.-].*)?$/i;

/** The package's own bundled-licences files, anywhere in it but its node_modules, relative to `dir`. */
function bundledLicenceFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && BUNDLED_LICENCES_FILE.test(entry.name))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).replaceAll("\\", "/"))
    .filter((path) => !path.split("/").includes("node_modules"))
    .sort();
}

/** The notices text for the packages the bundle contains; throws if one has no licence file to copy. */
export function noticesText(metafile, { root = process.cwd(), packageName } = {}) {
  const sections = [];
  for (const dir of bundledPackageDirs(metafile)) {
    const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    const files = [
      ...readdirSync(join(root, dir))
        .filter((file) => LICENCE_FILE.test(file))
        .sort(),
      ...bundledLicenceFiles(join(root, dir)),
    ];
    if (files.length === 0) {
      throw new Error(`${manifest.name}@${manifest.version} is bundled but has no licence file to include in the notices`);
    }
    const licence = typeof manifest.license === "string" ? manifest.license : (manifest.license?.type ?? "see below");
    const texts = files.map((file) => readFileSync(join(root, dir, file), "utf8").trim()).join("\n\n");
    sections.push(`${"-".repeat(78)}\n${manifest.name} ${manifest.version} (${licence})\n\n${texts}\n`);
  }
  const header =
    `${packageName ?? "This package"} bundles the following third-party packages into dist/.\n` +
    "Their licence texts, as shipped in each package, follow.\n";
  return `${header}\n${sections.join("\n")}`;
}

/** Writes the notices file; returns the names of the packages it lists. */
export function writeNotices(metafile, file, options = {}) {
  const text = noticesText(metafile, options);
  writeFileSync(file, text);
  return bundledPackageDirs(metafile);
}
