// The run queue every actor shares: turns are tasks, run one at a time, first in first out.
// FIFO order is what makes a sync reply arrive after everything sent before it.

type Task = () => void;

/** How many tasks run before the queue yields to Node's I/O (so busy actors cannot starve it). */
const BATCH = 4096;

let queue: Task[] = [];
let head = 0;
let scheduled = false;
let idleWaiters: (() => void)[] = [];

/** Adds a task to the end of the run queue. */
export function schedule(task: Task): void {
  queue.push(task);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

function drain(): void {
  let n = 0;
  while (head < queue.length) {
    if (n++ === BATCH) {
      setImmediate(drain);
      return;
    }
    const task = queue[head];
    queue[head++] = undefined as unknown as Task;
    task();
  }
  queue = [];
  head = 0;
  scheduled = false;
  if (idleWaiters.length > 0) {
    const ws = idleWaiters;
    idleWaiters = [];
    for (const w of ws) w();
  }
}

/**
 * Resolves once the run queue is empty: every turn that was pending, and every turn those
 * caused, has run. Timers and I/O still outstanding are not waited for.
 */
export function settle(): Promise<void> {
  if (!scheduled) return Promise.resolve();
  return new Promise((resolve) => idleWaiters.push(resolve));
}

/** How many turns wait in the run queue (for inspection and debugging). */
export function runQueueLength(): number {
  return queue.length - head;
}
