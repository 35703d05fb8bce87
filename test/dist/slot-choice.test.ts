// Which free mailbox slot a threads-backend call takes: the tightest staging buffer that already
// holds its data, else the biggest one (which grows least), and for calls staging nothing the
// smallest, so a barrier between two big all-to-alls never sends the second one to an empty slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestFitSlot } from '../../src/dist/threads/staging.js';

const MiB = 1024 * 1024;
// Slot 0 was grown to 256 MiB, slot 1 to 1 MiB, slot 2 to 64 MiB; the rest were never used.
const caps = [256 * MiB, 1 * MiB, 64 * MiB, 0, 0, 0, 0, 0];
const capacity = (s: number): number => caps[s] ?? 0;

test('a call takes the smallest free slot that already holds its data', () => {
  assert.equal(bestFitSlot([0, 1, 2, 3], 200 * MiB, capacity), 0);
  assert.equal(bestFitSlot([0, 1, 2, 3], 10 * MiB, capacity), 2);
  assert.equal(bestFitSlot([0, 1, 2, 3], 1 * MiB, capacity), 1);
  assert.equal(bestFitSlot([0, 2, 3], 1 * MiB, capacity), 2);
});

test('a call that stages nothing leaves the grown slots to calls that need them', () => {
  assert.equal(bestFitSlot([0, 1, 2, 3, 4], 0, capacity), 3);
  assert.equal(bestFitSlot([0, 1, 2], 0, capacity), 1);
});

test('when no free slot is big enough, the biggest one grows', () => {
  assert.equal(bestFitSlot([1, 2, 3], 128 * MiB, capacity), 2);
  assert.equal(bestFitSlot([3, 4, 5], 128 * MiB, capacity), 3);
});

test('ties go to the first slot listed, and an empty choice is refused by name', () => {
  assert.equal(bestFitSlot([5, 3, 4], 0, capacity), 5);
  assert.equal(bestFitSlot([3, 4, 5], 0, capacity), 3);
  assert.throws(() => bestFitSlot([], 0, capacity), /bestFitSlot: no free slot/);
});
