/** Records dropped because the buffer was full while the database stayed unreachable. */
export interface SpendOverflowEvent {
  /** Dropped by this overflow (the oldest buffered records). */
  dropped: number;
  /** Dropped since start. */
  totalDropped: number;
  maxPendingRecords: number;
}

/** The database became reachable (`up`) or stopped answering (`down`). */
export interface ControlPlaneStateEvent {
  state: "up" | "down";
  /** What failed, for `down` (never contains the connection string). */
  error?: string;
}

export interface ControlPlaneEventMap {
  "spend-overflow": SpendOverflowEvent;
  state: ControlPlaneStateEvent;
}

export type ControlPlaneEventName = keyof ControlPlaneEventMap;

/** A tiny typed emitter: a listener that throws is ignored, so it cannot break a write. */
export class ControlPlaneEvents {
  private readonly listeners = new Map<ControlPlaneEventName, Set<(event: never) => void>>();

  on<Name extends ControlPlaneEventName>(name: Name, listener: (event: ControlPlaneEventMap[Name]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<Name extends ControlPlaneEventName>(name: Name, event: ControlPlaneEventMap[Name]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as (event: ControlPlaneEventMap[Name]) => void)(event);
      } catch {
        // A listener's bug must not lose a spend record.
      }
    }
  }
}
