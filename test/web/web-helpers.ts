// Shared by the dashboard tests: fake run folders, HTTP requests (parsed and raw), and an SSE client.
import { mkdirSync, writeFileSync } from 'node:fs';
import { get, request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';

/** A metrics line like the trainer writes; val_loss every `valEvery` steps. */
export function metricsLine(step: number, valEvery = 5): string {
  const rec: Record<string, number> = {
    step, loss: 5.5 - 0.05 * step, lr: 1e-3, grad_norm: 1 + 0.01 * step, tokens_per_s: 10000 + step, mfu: 0.3,
    time_ms: 20, comm_ms: 4, comm_bytes_sent: 3_000_000, comm_a2a_bytes_sent: 2_000_000,
  };
  if (step % valEvery === 0) rec.val_loss = 5.4 - 0.05 * step;
  return `${JSON.stringify(rec)}\n`;
}

/** Creates runsDir/name with config.json and the given metrics text. */
export function makeRun(runsDir: string, name: string, metrics: string, steps = 20): string {
  const dir = join(runsDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: { type: 'gpt', d_model: 32 }, train: { steps, run_name: name } }));
  writeFileSync(join(dir, 'metrics.jsonl'), metrics);
  return dir;
}

export interface Reply {
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
}

export function fetchText(base: string, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends bytes as they are (no client-side URL normalisation) and returns the whole reply. */
export function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (out += c));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

export interface SseEvent {
  event: string;
  data: string;
}

/** A server-sent-events client that keeps every event it received. */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  private buffer = '';
  private res: IncomingMessage | null = null;

  constructor(url: string) {
    get(url, (res) => {
      this.res = res;
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        this.buffer += chunk;
        let at: number;
        while ((at = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, at);
          this.buffer = this.buffer.slice(at + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) this.events.push({ event, data: data.join('\n') });
        }
      });
    }).on('error', () => undefined);
  }

  /** Steps of every record received so far, in arrival order; a reset event appears as -1. */
  steps(): number[] {
    return this.events.flatMap((e) => (e.event === 'reset' ? [-1] : e.event === 'metrics' ? (JSON.parse(e.data) as { step: number }[]).map((r) => r.step) : []));
  }

  close(): void {
    this.res?.destroy();
  }
}

/** Waits until cond() holds, polling; fails with `what` after a generous deadline (not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, deadlineMs = 15000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
