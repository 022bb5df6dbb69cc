// Dataflow fields: values that blocks read, and blocks re-run within the turn when what they
// read changes (syndicate-js's dataflow graph, one graph per actor).

/** A block of code whose reads are tracked; `run` re-executes it in its own facet. */
export interface DataflowBlock {
  /** False once the block's facet has stopped: the block is then dropped. */
  readonly live: boolean;
  run(): void;
}

/** The dependency graph of one actor: which blocks read which fields. */
export class DataflowGraph {
  private readonly readers = new Map<Field<unknown>, Set<DataflowBlock>>();
  private readonly reads = new Map<DataflowBlock, Set<Field<unknown>>>();
  private readonly dirty = new Set<DataflowBlock>();
  private current: DataflowBlock | null = null;

  /** Runs `block` now, recording the fields it reads (previous dependencies are kept). */
  track(block: DataflowBlock): void {
    const saved = this.current;
    this.current = block;
    try {
      block.run();
    } finally {
      this.current = saved;
    }
  }

  /** Called by a field when it is read. */
  recordRead(f: Field<unknown>): void {
    if (this.current === null) return;
    let s = this.readers.get(f);
    if (s === undefined) this.readers.set(f, (s = new Set()));
    s.add(this.current);
    let r = this.reads.get(this.current);
    if (r === undefined) this.reads.set(this.current, (r = new Set()));
    r.add(f);
  }

  /** Called by a field when its value changes: its readers must run again. */
  recordWrite(f: Field<unknown>): void {
    const s = this.readers.get(f);
    if (s === undefined) return;
    for (const b of s) this.dirty.add(b);
  }

  /** True when some block must run again before the turn commits. */
  get needsRepair(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * Re-runs dirty blocks until none is left. A block that keeps dirtying itself is a bug in
   * the caller; after `limit` rounds we give up with an error (which ends the turn).
   */
  repair(limit = 1000): void {
    for (let round = 0; this.dirty.size > 0; round++) {
      if (round === limit) throw new Error('dataflow did not settle after ' + limit + ' rounds');
      const blocks = [...this.dirty];
      this.dirty.clear();
      for (const b of blocks) {
        this.forget(b);
        if (b.live) this.track(b);
      }
    }
  }

  /** Drops a block's recorded reads (before it re-runs, or when its facet stops). */
  forget(b: DataflowBlock): void {
    const r = this.reads.get(b);
    if (r !== undefined) {
      for (const f of r) this.readers.get(f)?.delete(b);
      r.clear(); // kept for the block's next run: re-runs are the hot path
      if (!b.live) this.reads.delete(b);
    }
    this.dirty.delete(b);
  }
}

/** A mutable value owned by an actor; blocks that read it re-run when it is set to a new value. */
export class Field<T> {
  private v: T;
  constructor(
    private readonly graph: DataflowGraph,
    initial: T,
    private readonly equals: (a: T, b: T) => boolean = Object.is,
    /** A name for debugging. */
    readonly name = 'field',
  ) {
    this.v = initial;
  }

  /** The current value; reading it inside a dataflow block makes the block depend on it. */
  get value(): T {
    this.graph.recordRead(this as Field<unknown>);
    return this.v;
  }

  /** Sets the value; dependent blocks re-run before the turn commits if it changed. */
  set value(v: T) {
    if (this.equals(this.v, v)) return;
    this.v = v;
    this.graph.recordWrite(this as Field<unknown>);
  }

  /** The value without recording a dependency. */
  peek(): T {
    return this.v;
  }

  /** Marks the field changed after an in-place mutation of its value. */
  changed(): void {
    this.graph.recordWrite(this as Field<unknown>);
  }
}
