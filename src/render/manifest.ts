import type { AuthMode, Feature, Language, PackageManager } from "../config/options.js";

/**
 * One file of a template set's `manifest.json`, which lists every file a
 * project can have, the template it comes from and when it is included.
 * Nothing outside the manifest is rendered, so a template folder can hold
 * notes and fixtures. Each TypeScript file also has a JavaScript twin
 * (js-twins.ts), which the build derives from it.
 */
export interface ManifestEntry {
  /** Path in the generated project, `/`-separated. */
  path: string;
  /** Template file, relative to the template folder. */
  template: string;
  /**
   * Included only when every given key matches the config (`downstreams`: whether there are any; the
   * governance keys, SPEC §9: whether the project has that part, see config/governance.ts).
   */
  when?: {
    auth?: AuthMode;
    lang?: Language;
    feature?: Feature;
    downstreams?: boolean;
    packageManager?: PackageManager;
    governed?: boolean;
    toolRules?: boolean;
    groups?: boolean;
    rateLimits?: boolean;
    audit?: boolean;
  };
  /** Copied as it is, not run through Handlebars (code full of braces, binary-safe text). */
  raw?: boolean;
}
