import type { Config } from "../config/config.js";
import { governanceOf } from "../config/governance.js";
import type { PackageManager } from "../config/options.js";
import type { ManifestEntry } from "./manifest.js";

/**
 * Whether a manifest entry belongs in the project of `config`, installed with `pm`: every key of its
 * `when` matches. Without `pm` (loading templates before it is known), any package manager matches.
 */
export function included(entry: ManifestEntry, config: Config, pm?: PackageManager): boolean {
  const when = entry.when ?? {};
  const governance = governanceOf(config);
  const matches = (key: keyof typeof governance) => when[key] === undefined || when[key] === governance[key];
  return (
    (when.auth === undefined || when.auth === config.auth) &&
    (when.packageManager === undefined || pm === undefined || when.packageManager === pm) &&
    (when.lang === undefined || when.lang === config.lang) &&
    (when.feature === undefined || config.features.includes(when.feature)) &&
    (when.downstreams === undefined || when.downstreams === config.downstreams.length > 0) &&
    matches("governed") &&
    matches("toolRules") &&
    matches("groups") &&
    matches("rateLimits") &&
    matches("audit")
  );
}
