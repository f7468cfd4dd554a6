// Builds the web UI into OUT (default dist/): one JS and one CSS bundle with content hashes
// in their names, index.html naming them (no inline script or style: the server's CSP
// forbids both), and a .gz beside each file, which mailstead-admin-api serves to browsers
// that accept gzip. Prints each file's size and the first load's compressed total.
import { build } from "esbuild";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, constants } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, "dist"));
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: [join(here, "src/main.tsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  outdir: join(out, "assets"),
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(p));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
const rel = (p) => "/" + p.slice(out.length + 1);
writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mailstead</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${rel(css)}">
<script type="module" src="${rel(js)}"></script>
</head>
<body>
<noscript>The Mailstead admin pages need JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`,
);

let total = 0;
const walk = (d) => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
for (const f of walk(out)) {
  const raw = readFileSync(f);
  const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(f + ".gz", gz);
  total += gz.length;
  console.log(`web-ui: ${rel(f)} ${raw.length} bytes, ${gz.length} gzipped`);
}
console.log(`web-ui: first load ${total} bytes compressed (index.html, JS, CSS)`);
