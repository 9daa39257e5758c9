// Types for the unit tests, which make the JavaScript templates as the build does and check them.
export function writeJsTemplates(templatesDir: string, options?: { biome?: string }): string[];
export function toJavaScript(
  source: string,
  name: string,
  options: { handlebars: boolean; renames?: Map<string, string> },
): { code: string; restore: (text: string) => string };
export function formatWithBiome(files: Map<string, string>, lintConfig: Record<string, unknown>, biome?: string): Map<string, string>;
