// Types for the unit test that checks the build's table against src/render.
export function templateKey(source: string): string;
export function precompileTemplates(templatesDir: string): { path: string; key: string; spec: string }[];
export function precompiledTemplates(templatesDir: string): import("esbuild").Plugin;
