#!/usr/bin/env node
// Kept to syntax every Node.js can parse, so an old Node gets this message
// instead of a syntax error from the bundle.
var required = [22, 12];
var running = process.versions.node.split(".").map(Number);
if (running[0] < required[0] || (running[0] === required[0] && running[1] < required[1])) {
  console.error(
    "create-mcp-access needs Node.js " + required.join(".") + " or newer; this is Node.js " + process.versions.node + ".",
  );
  process.exit(1);
}
import("../dist/cli.js")
  .then(function (cli) {
    return cli.main();
  })
  .then(function (code) {
    process.exitCode = code;
  })
  .catch(function (error) {
    console.error("create-mcp-access: unexpected error (please report it):");
    console.error(error);
    process.exitCode = 1;
  });
