/**
 * Test helpers for followers and receivers: collect delivered lines with their positions, and wait
 * for a condition with a bounded timeout (no timed assertions).
 */
import type { FollowEvent, FollowPosition } from '../follow.js';
import type { RawLine } from '../lines.js';
import type { SshEvent } from '../ssh.js';

type AnyEvent = FollowEvent | SshEvent;

export interface CollectedLine {
  text: string;
  offset: number;
  line: number;
  truncated: boolean;
  file: string;
  fingerprint: string | null;
}

/** Records every batch a follower delivers, and every event. */
export class Collector {
  readonly lines: CollectedLine[] = [];
  readonly positions: FollowPosition[] = [];
  readonly events: AnyEvent[] = [];
  /** When set, the next `onLines` call throws it (once). */
  failNext: Error | null = null;

  readonly onLines = (batch: RawLine[], position: FollowPosition): void => {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    for (const l of batch) {
      this.lines.push({
        text: l.bytes.toString('utf8'),
        offset: l.offset,
        line: l.line,
        truncated: l.truncated,
        file: position.file,
        fingerprint: position.fingerprint,
      });
    }
    this.positions.push({ ...position });
  };

  readonly onEvent = (event: AnyEvent): void => {
    this.events.push(event);
  };

  get texts(): string[] {
    return this.lines.map((l) => l.text);
  }

  get lastPosition(): FollowPosition | undefined {
    return this.positions[this.positions.length - 1];
  }

  eventsOf<T extends AnyEvent['type']>(type: T): Extract<AnyEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<AnyEvent, { type: T }> => e.type === type);
  }
}

/** Resolves when `condition()` holds; rejects with `what` after `timeoutMs` (default 10 s). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
