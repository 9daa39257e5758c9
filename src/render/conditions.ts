import type { Config } from "../config/config.js";
import type { ManifestEntry } from "./manifest.js";

/** Whether a manifest entry belongs in the project of `config`: every key of its `when` matches. */
export function included(entry: ManifestEntry, config: Config): boolean {
  const when = entry.when ?? {};
  return (
    (when.auth === undefined || when.auth === config.auth) &&
    (when.lang === undefined || when.lang === config.lang) &&
    (when.feature === undefined || config.features.includes(when.feature)) &&
    (when.downstreams === undefined || when.downstreams === config.downstreams.length > 0)
  );
}
