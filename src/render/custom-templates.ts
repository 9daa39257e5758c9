import { isLocalTemplate, localTemplateDir } from "../config/template-source.js";
import { UsageError } from "../errors.js";
import { exists, type FileSystem } from "../fs.js";
import { type Download, withFetchedTemplate } from "./fetch-template.js";
import { loadTemplateFolder } from "./template-check.js";
import type { TemplateSet } from "./templates.js";

/**
 * The template set of `--template <source>` (mcp-access.json `template`), for the project in
 * `projectDir`: a local folder is read where it is (a relative one from `projectDir`), anything
 * else is fetched with giget into a temporary folder that is gone when this returns. Either way
 * the template is checked before anything renders (template-check.ts).
 */
export async function loadCustomTemplates(
  fs: FileSystem,
  source: string,
  projectDir: string,
  schemaPath: string,
  options: { timeoutMs?: number; download?: Download } = {},
): Promise<TemplateSet> {
  if (isLocalTemplate(source)) {
    const dir = localTemplateDir(source, projectDir);
    if (!(await exists(fs, dir)) || !(await fs.stat(dir)).isDirectory()) {
      throw new UsageError(
        `The template folder ${JSON.stringify(source)} (${dir}) does not exist or is not a folder. ` +
          "A relative --template is relative to where create runs, and mcp-access.json keeps it relative to the project: check the path.",
      );
    }
    return loadTemplateFolder(fs, dir, schemaPath, `folder ${dir}`);
  }
  return withFetchedTemplate(source, (dir) => loadTemplateFolder(fs, dir, schemaPath, JSON.stringify(source)), options);
}
