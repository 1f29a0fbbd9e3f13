// Compiles each Wasm kernel with the AssemblyScript compiler, skipping kernels whose .wasm is
// newer than every source file of theirs (npm start and npm test build each time; asc is slow).
// Usage: node assembly/build.mjs [--force] [kernel…]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const KERNELS = {
  canonical: ['-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd'],
  stateres: ['-O3', '--noAssert', '--runtime', 'stub'],
};

const args = process.argv.slice(2);
const force = args.includes('--force');
const names = args.filter((a) => !a.startsWith('--'));
for (const name of names.length ? names : Object.keys(KERNELS)) {
  const flags = KERNELS[name];
  if (!flags) throw new Error(`unknown kernel ${name}`);
  const out = join(root, 'dist', 'assembly', `${name}.wasm`);
  const sources = readdirSync(join(root, 'assembly')).filter((f) => f.endsWith('.ts') && (f === `${name}.ts` || f.startsWith(`${name}-`)));
  const newest = Math.max(...sources.map((f) => statSync(join(root, 'assembly', f)).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
  if (!force && existsSync(out) && statSync(out).mtimeMs >= newest) continue;
  mkdirSync(dirname(out), { recursive: true });
  const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  execFileSync(process.execPath, [asc, join(root, 'assembly', `${name}.ts`), '-o', out, ...flags], { stdio: 'inherit' });
  console.log(`built ${name}.wasm`);
}
