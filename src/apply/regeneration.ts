import type { Config } from "../config/config.js";
import { ConflictError, UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";
import { type FileMap, render } from "../render/render.js";
import type { TemplateSet } from "../render/templates.js";
import { projectPackageManager } from "../steps/package-manager.js";
import { applyChanges } from "./apply-plan.js";
import { planRegeneration } from "./plan.js";
import { assertSafeRelativePath, readProjectFile } from "./project-path.js";
import { isSnapshotted, readSnapshot, SNAPSHOT_DIR } from "./snapshot.js";

// What `regenerate` and provisioning share: the render as regenerate sees it, the project's files
// on disk, and the merge of provisioned values. It sits below both, so provision/ needs nothing
// from commands/.

/**
 * Brings values provisioning learnt (the team, the AUD, the KV id, the
 * workers.dev host) into the files that show them, with regenerate's
 * three-way merge: the user's edits stay, and the snapshot is updated with
 * the files. Only those files are touched: the rest of a project made by an
 * older generator is left for `regenerate` to bring up to date, when the user
 * asks. Returns the files changed (with `dryRun`, that would change).
 */
export async function regenerateProvisionedValues(
  fs: FileSystem,
  root: string,
  config: Config,
  templates: TemplateSet,
  generatorVersion: string,
  dryRun: boolean,
): Promise<string[]> {
  // The project's package manager, as regenerate finds it: its files and the README's commands stay its own.
  const meta = { generatorVersion, packageManager: await projectPackageManager(fs, root) };
  const now = projectFiles(render(config, templates, meta));
  const without = projectFiles(render(withoutProvisionedValues(config), templates, meta));
  const affected = [...now.keys()].filter((path) => now.get(path) !== without.get(path));
  if (!affected.length) return [];
  const snapshot = await readSnapshot(fs, root);
  if (!snapshot) throw noSnapshot();
  const only = <T>(map: ReadonlyMap<string, T>) => new Map([...map].filter(([path]) => affected.includes(path)));
  const { disk, blocked, modes } = await readProjectFiles(fs, root, affected);
  const changes = planRegeneration({ snapshot: only(snapshot), next: only(now), disk, blocked });
  const changed = changes.filter((change) => change.write !== undefined).map((change) => change.path);
  if (dryRun) return changed;
  await applyChanges(fs, root, changes, modes);
  const conflicts = changes.filter((change) => change.kind === "conflict").map((change) => change.path);
  if (conflicts.length) {
    throw new ConflictError(
      "Your edits and the values provisioning recorded overlap in these files: each now has a <<<<<<< yours … >>>>>>> generated now block. " +
        "Keep what the file should say, delete the marker lines, then run provision again (what it created is recorded in mcp-access.json).",
      conflicts,
    );
  }
  return changed;
}

/** The config as it was before provisioning learnt anything. */
function withoutProvisionedValues(config: Config): Config {
  const { provisioned: _, team: __, accountId: ___, ...rest } = config;
  return { ...rest, access: { ...config.access, idps: [] } };
}

export function noSnapshot(): UsageError {
  return new UsageError(
    `There is no snapshot in ${SNAPSHOT_DIR}/, so regenerate cannot tell your edits from generated code. ` +
      `Restore it from git (git checkout -- ${SNAPSHOT_DIR}), or generate a fresh project with create and move your code into it.`,
  );
}

/** The render without the user's own config file, which regenerate reads and never writes. */
export function projectFiles(rendered: FileMap): FileMap {
  const files: FileMap = new Map();
  for (const [path, text] of rendered) {
    if (!isSnapshotted(path)) continue;
    assertSafeRelativePath(path, "the template manifest");
    files.set(path, text);
  }
  return files;
}

export async function readProjectFiles(fs: FileSystem, root: string, paths: string[]) {
  const disk = new Map<string, string>();
  const blocked = new Map<string, string>();
  const modes = new Map<string, number>();
  for (const path of paths) {
    const file = await readProjectFile(fs, root, path);
    if (file.state === "file") {
      disk.set(path, file.text);
      modes.set(path, file.mode);
    } else if (file.state === "blocked") {
      blocked.set(path, file.reason);
    }
  }
  return { disk, blocked, modes };
}
