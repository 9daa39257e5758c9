// Types for the unit test that checks the build's rule against src/render/js-twins.ts.
export interface ManifestEntry {
  path: string;
  template: string;
  when?: { auth?: string; lang?: string; feature?: string; downstreams?: boolean };
  raw?: boolean;
}
export const JS_TEMPLATES_DIR: string;
export function hasJsTwin(entry: ManifestEntry): boolean;
export function jsTwinPath(path: string): string;
export function jsTwinOf(entry: ManifestEntry): ManifestEntry;
export function withJsTwins(files: ManifestEntry[]): ManifestEntry[];
