// The dashboard's HTTP server (node:http): the page and its assets, a JSON API over the runs
// directory, and a server-sent-events stream per run. It only ever reads, only inside the runs
// directory, and answers anything else with a status and a one-line message.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboardAssets, type Asset } from './assets.js';
import { readMetricsFile } from './metrics-file.js';
import { DEFAULT_STREAM_OPTIONS, streamMetrics, type StreamOptions } from './metrics-stream.js';
import { HttpError, listRuns, realRunsDir, resolveRunDir, runFile } from './run-paths.js';

export interface DashboardOptions {
  runsDir: string;
  /** Interface to bind; the default keeps the dashboard private to this machine. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  stream?: Partial<StreamOptions>;
}

export interface DashboardServer {
  /** e.g. http://127.0.0.1:8080/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The page loads nothing from elsewhere; uPlot sets element styles from script, which CSP allows.
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
};

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(head ? undefined : text);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: message, status }, false);
}

function sendAsset(res: ServerResponse, asset: Asset, head: boolean): void {
  const body = readFileSync(asset.path);
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.contentType, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(head ? undefined : body);
}

function readJsonFile(path: string | null, what: string): unknown {
  if (path === null) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    throw new HttpError(404, `${what} of this run is not valid JSON (it may be being written; try again)`);
  }
}

/** Parses the request target; anything that is not an origin-form path is malformed. */
function parseTarget(req: IncomingMessage): URL {
  const raw = req.url ?? '';
  if (!raw.startsWith('/') || raw.startsWith('//')) throw new HttpError(400, `malformed request target ${JSON.stringify(raw.slice(0, 100))}`);
  try {
    return new URL(raw, 'http://dashboard.invalid');
  } catch {
    throw new HttpError(400, `malformed request target ${JSON.stringify(raw.slice(0, 100))}`);
  }
}

/** The one query parameter a run endpoint takes, refusing repeats that would be ambiguous. */
function runParam(url: URL): string | null {
  const all = url.searchParams.getAll('run');
  if (all.length > 1) throw new HttpError(400, 'query parameter "run" is given more than once');
  return all[0] ?? null;
}

export function createDashboardHandler(runsDir: string, streamOpts: StreamOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const root = realRunsDir(runsDir);
  const assets = dashboardAssets();
  return (req, res) => {
    try {
      const method = req.method ?? '';
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new HttpError(405, `method ${method} is not allowed; the dashboard only reads (GET, HEAD)`);
      }
      const head = method === 'HEAD';
      const url = parseTarget(req);
      const path = url.pathname;
      if (path === '/' || path === '/index.html') return sendAsset(res, assets.get('index.html') as Asset, head);
      if (path.startsWith('/assets/')) {
        const asset = assets.get(path.slice('/assets/'.length));
        if (!asset || path.endsWith('index.html')) throw new HttpError(404, `no asset ${JSON.stringify(path)}`);
        return sendAsset(res, asset, head);
      }
      if (path === '/api/runs') return sendJson(res, 200, { runs: listRuns(root) }, head);
      if (path === '/api/config' || path === '/api/metrics' || path === '/api/events') {
        const name = runParam(url);
        const dir = resolveRunDir(root, name);
        if (path === '/api/config') return sendJson(res, 200, { run: name, config: readJsonFile(runFile(root, dir, 'config.json'), 'config.json') }, head);
        const metricsPath = runFile(root, dir, 'metrics.jsonl');
        if (path === '/api/metrics') {
          const m = metricsPath ? readMetricsFile(metricsPath) : { records: [], bad: 0 };
          return sendJson(res, 200, { run: name, records: m.records, bad_lines: m.bad }, head);
        }
        if (head) return sendJson(res, 200, {}, true);
        streamMetrics(res, dir, streamOpts);
        return;
      }
      throw new HttpError(404, `no such page or endpoint: ${JSON.stringify(path)} (try /, /api/runs, /api/config?run=, /api/metrics?run=, /api/events?run=)`);
    } catch (err: unknown) {
      if (err instanceof HttpError) sendError(res, err.status, err.message);
      else sendError(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

/** Starts the dashboard; resolves once it listens. */
export function startDashboard(opts: DashboardOptions): Promise<DashboardServer> {
  const streamOpts = { ...DEFAULT_STREAM_OPTIONS, ...opts.stream };
  const server: Server = createServer(createDashboardHandler(opts.runsDir, streamOpts));
  // Requests node's parser rejects (bad syntax, oversized headers) get a message, not a reset.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n\r\nmalformed HTTP request: ${err.message}\n`);
  });
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}/`,
        port,
        close: () =>
          new Promise<void>((done) => {
            // Event streams never end by themselves, so open connections are cut.
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
