/**
 * What talks to Cloudflare, loaded only when a command does (it brings the SDK): provision and
 * destroy share most of it, so it is one module to load, and one bundle file rather than several
 * shared pieces.
 */
export { destroyProject } from "../destroy/project.js";
export { provisionProject } from "../provision/project.js";
