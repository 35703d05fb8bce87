// `ulysses dashboard [runs-dir]`: serves the live dashboard of a runs directory until interrupted.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../train/errors.js';
import { startDashboard } from '../web/server.js';
import { runCommand } from './cli-errors.js';

interface DashboardFlags {
  port: string;
  host: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function addDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve a live dashboard of training runs (loss, throughput, communication, config) on http://127.0.0.1:8080/')
    .argument('[runs-dir]', 'folder of run folders (train.out_dir), or one run folder', 'runs')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <addr>', 'interface to listen on; anything but loopback shows your runs to the network, without a password', '127.0.0.1')
    .action((runsDir: string, f: DashboardFlags) =>
      runCommand(async () => {
        const port = Number(f.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port must be an integer from 0 to 65535, got ${JSON.stringify(f.port)}`);
        if (!existsSync(runsDir)) throw new UserError(`runs directory ${runsDir} does not exist; train a run first (ulysses train) or pass the folder that holds your runs`);
        // A single run folder is served from its parent, with that run selected.
        const isRun = existsSync(join(runsDir, 'metrics.jsonl')) || existsSync(join(runsDir, 'config.json'));
        const root = isRun ? dirname(resolve(runsDir)) : runsDir;
        let server;
        try {
          server = await startDashboard({ runsDir: root, host: f.host, port });
        } catch (err: unknown) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EADDRINUSE') throw new UserError(`port ${port} on ${f.host} is in use; pass another --port (0 picks a free one)`);
          if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`--host ${f.host} is not an address of this machine`);
          throw err;
        }
        const url = isRun ? `${server.url}?run=${encodeURIComponent(basename(resolve(runsDir)))}` : server.url;
        console.log(`dashboard of ${resolve(root)} at ${url} (Ctrl-C stops it)`);
        if (!LOOPBACK.has(f.host)) console.log(`warning: listening on ${f.host}: anyone who can reach this machine can read these runs`);
        await new Promise<void>((done) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void server.close().then(done);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );
}
