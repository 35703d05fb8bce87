// How a training run picks its backend and splits threads, and what it refuses before any rank
// starts; none of this needs mpirun: the launcher's environment is passed in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainLayers } from '../../src/cli/train-command.js';
import { buildConfig, configDifference, defaultConfig, type UlyssesConfig } from '../../src/train/config.js';
import { ConfigError } from '../../src/train/errors.js';
import { checkLaunch, mpiLaunch, resolveBackend } from '../../src/train/parallel-run.js';
import { threadsPerRank } from '../../src/train/spmd-train.js';

function config(set: Record<string, unknown>): UlyssesConfig {
  return buildConfig(Object.entries(set).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })));
}

const MPI2 = { OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '2' };

test('train.backend: "auto" (the default) is mpi exactly when mpirun started the process', () => {
  assert.equal(defaultConfig().train.backend, 'auto');
  const auto = config({});
  assert.equal(resolveBackend(auto, {}), 'threads');
  assert.equal(resolveBackend(auto, MPI2), 'mpi');
  assert.equal(resolveBackend(auto, { PMIX_RANK: '0' }), 'mpi');
  assert.equal(resolveBackend(config({ 'train.backend': 'threads' }), MPI2), 'threads');
  assert.equal(resolveBackend(config({ 'train.backend': 'mpi' }), {}), 'mpi');
  assert.deepEqual(mpiLaunch(MPI2), { rank: 1, size: 2 });
  assert.deepEqual(mpiLaunch({}), { rank: 0, size: 1 });
  assert.deepEqual(mpiLaunch({ PMIX_RANK: '3' }), { rank: 3, size: undefined });
});

test('--backend sets train.backend; other values are refused naming the allowed ones', () => {
  assert.equal(buildConfig(trainLayers({ set: [], backend: 'mpi' })).train.backend, 'mpi');
  assert.throws(() => buildConfig(trainLayers({ set: [], backend: 'gloo' })),
    (e: unknown) => e instanceof ConfigError && /train\.backend must be one of "auto", "threads", "mpi", got "gloo"/.test(e.message));
});

test('a config saved before train.backend existed (an old checkpoint) resumes with the default', () => {
  const old = defaultConfig() as unknown as { train: Record<string, unknown> };
  delete old.train['backend'];
  const c = buildConfig([], old as unknown as UlyssesConfig);
  assert.equal(c.train.backend, 'auto');
});

test('launches that cannot work are refused before any rank starts, saying how to launch', () => {
  const sp2 = config({ sequence_parallel_size: 2 });
  assert.doesNotThrow(() => checkLaunch(sp2, 'mpi', MPI2));
  assert.doesNotThrow(() => checkLaunch(sp2, 'threads', {}));
  assert.doesNotThrow(() => checkLaunch(sp2, 'mpi', { PMIX_RANK: '0' }), 'a launcher that does not tell the size is left to MPI');
  assert.throws(() => checkLaunch(config({ sequence_parallel_size: 2, data_parallel_size: 2 }), 'mpi', MPI2),
    /sequence_parallel_size \(2\) x data_parallel_size \(2\) = 4 ranks, but mpirun started 2 processes; launch with mpirun -np 4/);
  assert.throws(() => checkLaunch(sp2, 'mpi', {}), /train\.backend is "mpi" .* but mpirun did not start this process; launch it with mpirun -np 2/);
  assert.throws(() => checkLaunch(sp2, 'threads', MPI2), /train\.backend is "threads", but this process is one of 2 that mpirun started.*--backend mpi/);
  assert.doesNotThrow(() => checkLaunch(config({ sequence_parallel_size: 1 }), 'mpi', {}), 'one rank needs no mpirun');
});

test('threads per rank: train.threads is one machine\'s budget, split over the ranks on that machine', () => {
  const c = config({ sequence_parallel_size: 2, data_parallel_size: 2, 'train.threads': 8 });
  assert.equal(threadsPerRank(c, 'threads', {}), 2, '4 worker threads share 8');
  const env4 = { ...MPI2, OMPI_COMM_WORLD_SIZE: '4' };
  assert.equal(threadsPerRank(c, 'mpi', env4), 4, 'an explicit budget: 2 of the 4 ranks on this machine');
  assert.equal(threadsPerRank(c, 'mpi', { OMPI_COMM_WORLD_SIZE: '4' }), 2, 'without a local size, all ranks are assumed local');
  const auto = config({ sequence_parallel_size: 2, data_parallel_size: 2 });
  assert.equal(threadsPerRank(auto, 'mpi', env4, { machine: 32, usable: 32 }), 16, 'auto, unbound: the machine over its ranks');
  assert.equal(threadsPerRank(auto, 'mpi', env4, { machine: 32, usable: 1 }), 1, 'auto, bound to one core');
  assert.equal(threadsPerRank(auto, 'mpi', env4, { machine: 32, usable: 8 }), 8, 'auto, bound to 8 cores');
  assert.equal(threadsPerRank(auto, 'mpi', { ...env4, OMPI_COMM_WORLD_LOCAL_SIZE: '4' }, { machine: 2, usable: 2 }), 1, 'auto, more ranks than cores');
  assert.equal(threadsPerRank(config({ sequence_parallel_size: 4, 'model.n_heads': 4, 'train.threads': 2 }), 'threads', {}), 1, 'at least one');
});

test('configDifference names the first differing key with both values', () => {
  const a = config({});
  assert.equal(configDifference(a, structuredClone(a)), null);
  assert.deepEqual(configDifference(config({ 'data.seq_len': 30, 'model.max_seq_len': 1024 }), a), { path: 'data.seq_len', mine: '30', theirs: '1024' });
  assert.deepEqual(configDifference({ x: { y: 1 } }, { x: {} }), { path: 'x.y', mine: '1', theirs: 'missing' });
});
