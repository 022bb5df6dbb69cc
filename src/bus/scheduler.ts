// The run queue every actor shares: turns are tasks, run one at a time, first in first out.
// FIFO order is what makes a sync reply arrive after everything sent before it.

type Task = () => void;

/** How many tasks run at most before the queue yields to Node's I/O and timers. */
export const MAX_TASKS_PER_SLICE = 4096;

/**
 * How long (ms) the queue runs before it yields, whatever the count: heavy turns in a message
 * loop would otherwise hold I/O and timers off for seconds per slice.
 */
export const MAX_SLICE_MS = 5;

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

// Date.now, not performance.now: the first performance.now() of a process loads perf_hooks (eight
// modules, ~1 ms), paid by every short-lived client such as syndicate-ctl. 1 ms steps suffice, and
// a step of the clock changes one slice only (the task count still bounds it).
function drain(): void {
  const deadline = Date.now() + MAX_SLICE_MS;
  let n = 0;
  while (head < queue.length) {
    if (n === MAX_TASKS_PER_SLICE || (n > 0 && Date.now() >= deadline)) {
      // A queue that never empties (a message loop) would otherwise keep every slot it used.
      if (head > 1024) {
        queue = queue.slice(head);
        head = 0;
      }
      // setImmediate runs after the poll phase: pending I/O and due timers go first.
      setImmediate(drain);
      return;
    }
    n++;
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
