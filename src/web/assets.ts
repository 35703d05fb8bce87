// The files the page is made of: our own page scripts and styles (plain browser files in
// src/web/static, served as they are) and uPlot's build from node_modules. Requests name an
// asset from this fixed list, so no request path ever reaches the file system.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  path: string;
  contentType: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** src/web/static, found from both the compiled module (dist/src/web) and the source tree. */
function staticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'static'), join(here, '..', '..', '..', 'src', 'web', 'static')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`dashboard page files not found (looked in ${candidates.join(', ')})`);
  return found;
}

function uplotDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('uplot/package.json')), 'dist');
  } catch {
    throw new Error('the npm package "uplot" is not installed: run `npm ci`');
  }
}

/** Every file the dashboard serves, by the name the page requests it under. */
export function dashboardAssets(): Map<string, Asset> {
  const s = staticDir();
  const u = uplotDir();
  return new Map<string, Asset>([
    ['index.html', { path: join(s, 'index.html'), contentType: HTML }],
    ['dashboard.js', { path: join(s, 'dashboard.js'), contentType: JS }],
    ['charts.js', { path: join(s, 'charts.js'), contentType: JS }],
    ['report-boot.js', { path: join(s, 'report-boot.js'), contentType: JS }],
    ['dashboard.css', { path: join(s, 'dashboard.css'), contentType: CSS }],
    ['uPlot.iife.min.js', { path: join(u, 'uPlot.iife.min.js'), contentType: JS }],
    ['uPlot.min.css', { path: join(u, 'uPlot.min.css'), contentType: CSS }],
  ]);
}

/** The text of one asset (for inlining into a report). */
export function assetText(name: string): string {
  const a = dashboardAssets().get(name);
  if (!a) throw new Error(`no dashboard asset named ${name}`);
  return readFileSync(a.path, 'utf8');
}
