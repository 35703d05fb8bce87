// Runs every MPI export on every rank (mpirun -np P node dist/test/mpi/collectives.js, or plain
// node for a single rank); prints one `ok` line per rank, aborts the job on any failure.
import { checkAllReduce, checkBarrierBroadcast, checkBf16, checkReduceScatter } from './checks-reduce.js';
import {
  checkAllGatherv, checkAllToAllv, checkArgumentErrors, checkCommSplit, checkKeepAlive, checkRequests, checkSendRecv,
} from './checks-exchange.js';
import { runRanks } from './harness.js';

await runRanks('collectives', async (ctx) => {
  checkArgumentErrors(ctx);
  checkBarrierBroadcast(ctx);
  checkAllReduce(ctx);
  checkBf16(ctx);
  checkReduceScatter(ctx);
  checkAllGatherv(ctx);
  checkAllToAllv(ctx);
  checkSendRecv(ctx);
  checkCommSplit(ctx);
  checkRequests(ctx);
  await checkKeepAlive(ctx);
});
