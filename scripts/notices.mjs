// Third-party notices for the published package (SPEC §8): every library is
// bundled into dist/, so its licence has to travel with it. esbuild's metafile
// says which packages actually put code into the output (a package tree-shaken
// away entirely is not listed); for each, this copies its licence (and NOTICE)
// files into one text file, verbatim but for a permission notice several share.
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

// Where a licence file goes on with the licences of what the package bundles (giget's LICENSE: node-tar's and its parts').
const BUNDLED_SECTION = /^-{3,}\s*\n\s*third[- ]party bundled dependencies\b/im;

/** The package's own bundled-licences files, anywhere in it but its node_modules, relative to `dir`. */
function bundledLicenceFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && BUNDLED_LICENCES_FILE.test(entry.name))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).replaceAll("\\", "/"))
    .filter((path) => !path.split("/").includes("node_modules"))
    .sort();
}

/**
 * The notices text for the packages the bundle contains; throws if one has no licence file to copy.
 * `withoutTheirBundles` names packages whose own bundled libraries the build left out (replaced):
 * their licence is copied without its section about those, and their bundled-licences file is not.
 */
export function noticesText(metafile, { root = process.cwd(), packageName, withoutTheirBundles = [] } = {}) {
  const sections = [];
  for (const dir of bundledPackageDirs(metafile)) {
    const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    const files = [
      ...readdirSync(join(root, dir))
        .filter((file) => LICENCE_FILE.test(file))
        .sort(),
      ...(withoutTheirBundles.includes(manifest.name) ? [] : bundledLicenceFiles(join(root, dir))),
    ];
    if (files.length === 0) {
      throw new Error(`${manifest.name}@${manifest.version} is bundled but has no licence file to include in the notices`);
    }
    const licence = typeof manifest.license === "string" ? manifest.license : (manifest.license?.type ?? "see below");
    const withoutBundles = (text) => (withoutTheirBundles.includes(manifest.name) ? text.split(BUNDLED_SECTION)[0] : text);
    const texts = files.map((file) => withoutBundles(readFileSync(join(root, dir, file), "utf8")).trim()).join("\n\n");
    sections.push({ heading: `${manifest.name} ${manifest.version} (${licence})`, texts });
  }
  const shared = sharedPermissionNotices(sections.map(({ texts }) => texts));
  const body = sections.map(({ heading, texts }) => {
    const notice = shared.get(texts);
    const text = notice ? `${notice.own}\n\n${notice.reference}` : texts;
    return `${"-".repeat(78)}\n${heading}\n\n${text}\n`;
  });
  const header =
    `${packageName ?? "This package"} bundles the following third-party packages into dist/.\n` +
    "Their licence texts, as shipped in each package, follow. Where packages share an MIT-style\n" +
    "permission notice word for word, each keeps its own title and copyright lines, and the notice\n" +
    "is printed once, at the end.\n";
  const appendix = [...new Set([...shared.values()].map((notice) => notice.appendix))];
  return `${header}\n${body.join("\n")}${appendix.join("")}`;
}

// Where an MIT-style permission notice starts: what follows is the same for every package under it,
// but for line breaks.
const PERMISSION = /^Permission is hereby granted/m;

/**
 * Licence texts whose permission notice (from "Permission is hereby granted" to the end) is the
 * same, word for word, in two or more packages: for each such text, its own part (title and
 * copyright lines), a reference, and the shared notice to print once. As a Debian copyright file
 * does: every copyright line stays with its package, the common terms are not repeated.
 */
function sharedPermissionNotices(texts) {
  const words = (text) => text.trim().split(/\s+/).join(" ");
  const groups = new Map();
  for (const text of texts) {
    const start = text.search(PERMISSION);
    if (start <= 0) continue;
    const key = words(text.slice(start));
    groups.set(key, [...(groups.get(key) ?? []), { text, own: text.slice(0, start).trim(), notice: text.slice(start).trim() }]);
  }
  const shared = new Map();
  let number = 0;
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    number += 1;
    const title = `Permission notice ${number}`;
    const appendix = `${"=".repeat(78)}\n${title}, shared by the packages that refer to it above\n\n${members[0].notice}\n`;
    for (const { text, own } of members) shared.set(text, { own, reference: `[${title}: printed once, at the end of this file]`, appendix });
  }
  return shared;
}

/** Writes the notices file; returns the names of the packages it lists. */
export function writeNotices(metafile, file, options = {}) {
  const text = noticesText(metafile, options);
  writeFileSync(file, text);
  return bundledPackageDirs(metafile);
}
