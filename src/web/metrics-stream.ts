// Server-sent events for one run: every complete metrics line already written, then each new one
// as the trainer appends it. The folder is watched (fs.watch) for prompt updates and also polled,
// because some file systems (network mounts, containers) never deliver watch events.
import { watch, type FSWatcher } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { MetricsTail } from './metrics-file.js';

export interface StreamOptions {
  /** How often the file is polled besides watching (ms). */
  pollMs: number;
  /** Interval of keep-alive comments, so proxies and browsers keep the connection (ms). */
  heartbeatMs: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = { pollMs: 1000, heartbeatMs: 15000 };

/**
 * Streams runDir/metrics.jsonl to res as SSE: "metrics" events carry a JSON array of records,
 * "reset" says the file was rewritten (a resumed run) and records start over. Returns a function
 * that stops the stream.
 */
export function streamMetrics(res: ServerResponse, runDir: string, opts: StreamOptions = DEFAULT_STREAM_OPTIONS): () => void {
  const tail = new MetricsTail(join(runDir, 'metrics.jsonl'));
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
  });
  // The client waits this long before reconnecting after a dropped connection.
  res.write('retry: 2000\n\n');

  let stopped = false;
  let pending = false;
  const push = (): void => {
    pending = false;
    if (stopped) return;
    const r = tail.read();
    if (r.reset) res.write('event: reset\ndata: {}\n\n');
    if (r.records.length > 0) res.write(`event: metrics\ndata: ${JSON.stringify(r.records)}\n\n`);
  };
  // Watch events come in bursts (one append can fire several), so reads are coalesced per tick.
  const schedule = (): void => {
    if (pending || stopped) return;
    pending = true;
    setImmediate(push);
  };

  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(runDir, (_event, file) => {
      if (file === null || file === 'metrics.jsonl') schedule();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = null;
    });
  } catch {
    watcher = null;
  }
  const poll = setInterval(schedule, opts.pollMs);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), opts.heartbeatMs);
  push();

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(poll);
    clearInterval(heartbeat);
    watcher?.close();
    if (!res.writableEnded) res.end();
  };
  res.on('close', stop);
  return stop;
}
