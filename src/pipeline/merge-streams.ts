import type { FramedLine } from '../core/frame.js';

/** A source of framed lines in (roughly) time order, fetched a batch at a time. */
export interface TimedStream {
  nextBatch(): Promise<FramedLine[] | null>;
  readonly bytesRead: number;
}

interface Head {
  stream: TimedStream;
  batch: FramedLine[];
  index: number;
}

/**
 * Merges several time-ordered streams into one, always taking the earliest next line. Each stream
 * keeps its own order (a log is never reordered within itself); between streams the merge is by time,
 * so a rotated set given in any order and the logs of several hosts read as one timeline.
 * A linear scan over the heads: imports name a handful of files, not thousands.
 */
export class MergedStreams {
  private heads: Head[] = [];
  private started = false;

  constructor(private readonly streams: TimedStream[]) {}

  async next(): Promise<FramedLine | null> {
    if (!this.started) await this.start();
    let best: Head | undefined;
    for (const head of this.heads) {
      if (!best || head.batch[head.index]!.at < best.batch[best.index]!.at) best = head;
    }
    if (!best) return null;
    const line = best.batch[best.index++]!;
    if (best.index >= best.batch.length) await this.refill(best);
    return line;
  }

  bytesDone(): number {
    return this.streams.reduce((sum, s) => sum + s.bytesRead, 0);
  }

  private async start(): Promise<void> {
    this.started = true;
    for (const stream of this.streams) {
      const head: Head = { stream, batch: [], index: 0 };
      this.heads.push(head);
      await this.refill(head);
    }
  }

  /** Loads the stream's next non-empty batch, or drops the stream when it has ended. */
  private async refill(head: Head): Promise<void> {
    for (;;) {
      const batch = await head.stream.nextBatch();
      if (batch === null) {
        this.heads = this.heads.filter((h) => h !== head);
        return;
      }
      if (batch.length > 0) {
        head.batch = batch;
        head.index = 0;
        return;
      }
    }
  }
}
