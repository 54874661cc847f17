// The transfers-in limiter: never more than N at once, the rest in arrival order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limiter } from '../../../services/secondary/limiter.ts';

describe('Limiter', () => {
  it('runs at most N at once, in arrival order, and frees a slot when one fails', async () => {
    const l = new Limiter(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const jobs = Array.from({ length: 20 }, (_, i) => l.run(async () => {
      running++;
      most = Math.max(most, running);
      order.push(i);
      await new Promise((r) => setTimeout(r, 2 + (i % 3)));
      running--;
      if (i === 5) throw new Error('job 5 fails');
      return i;
    }));
    const results = await Promise.allSettled(jobs);
    assert.equal(most, 3);
    assert.equal(l.peak, 3);
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.equal(l.queued, 0);
  });
});
