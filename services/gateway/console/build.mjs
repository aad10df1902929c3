// Builds the console: type-checks the TypeScript (tsc), bundles and minifies it with esbuild
// into content-hashed files under assets/, writes index.html naming them, and holds the bundle
// to its size budget. The gateway embeds the output directory (services/gateway/CMakeLists.txt).
//
//   node build.mjs --tools=<repo>/.tools --out=<dir> [--no-check]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=');
  return [k, v ?? true];
}));
const tools = path.resolve(args.tools || path.join(here, '../../../.tools'));
const out = path.resolve(args.out || path.join(here, 'dist'));
// The budget issue 13 sets for everything a browser loads, gzipped.
const BUDGET_GZIP_BYTES = 300 * 1024;

const modules = path.join(tools, 'node_modules');
if (!fs.existsSync(path.join(modules, 'esbuild')) || !fs.existsSync(path.join(modules, 'typescript'))) {
  console.error(`console: esbuild and typescript are not in ${modules}; run tools/install-deps.sh`);
  process.exit(1);
}

if (!args['no-check']) {
  const tsc = spawnSync(process.execPath, [path.join(modules, 'typescript/bin/tsc'), '-p',
                                           path.join(here, 'tsconfig.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('console: the TypeScript does not type-check (above)');
    process.exit(1);
  }
}

const esbuild = createRequire(`${modules}/`)('esbuild');
fs.rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src/main.ts') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  splitting: true,  // uPlot is loaded with the first chart
  nodePaths: [modules],
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
});

const relative = (f) => path.relative(out, path.resolve(f));
const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([f, o]) => o.entryPoint && f.endsWith('.js'));
const js = entry && relative(entry[0]);
const css = entry?.[1].cssBundle && relative(entry[1].cssBundle);
if (!js || !css) {
  console.error(`console: no entry script and stylesheet among ${outputs.map(([f]) => f).join(', ')}`);
  process.exit(1);
}
const chunks = outputs.map(([f]) => relative(f)).filter((f) => f !== js && f !== css);
const html = fs.readFileSync(path.join(here, 'index.html'), 'utf8')
  .replace('{{js}}', js).replace('{{css}}', css);
fs.writeFileSync(path.join(out, 'index.html'), html);

let gzipped = 0;
const sizes = ['index.html', js, css, ...chunks].map((f) => {
  const body = fs.readFileSync(path.join(out, f));
  const gz = zlib.gzipSync(body, { level: 9 }).length;
  gzipped += gz;
  return `${f} ${body.length} B (${gz} B gzipped)`;
});
console.log(`console: ${sizes.join(', ')}; ${gzipped} B gzipped in all`);
if (gzipped > BUDGET_GZIP_BYTES) {
  console.error(`console: over the ${BUDGET_GZIP_BYTES} B gzipped budget`);
  process.exit(1);
}
