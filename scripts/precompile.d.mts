// Types for the unit test that checks the build's tables against src/render.
export function precompileTemplates(templatesDir: string): { path: string; keys: [source: string, path: string]; table: string; spec: string }[];
export function precompiledTemplates(templatesDir: string): import("esbuild").Plugin;
export function withoutFallbacks(spec: string): string;
