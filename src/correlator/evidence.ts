import type { Frame } from '../core/frame.js';
import type { EventRecord } from '../core/model.js';

/** Identifies the stream a line came from, so that the same line read twice is stored once. */
export function streamKey(frame: Pick<Frame, 'origin'>): string {
  const { source, file, stream } = frame.origin;
  if (stream !== undefined) return stream;
  return source === file ? file : `${source}|${file}`;
}

/** The raw line behind an event, as the trace shows it. */
export function evidence(frame: Frame, kind: string): EventRecord {
  return {
    at: frame.at,
    host: frame.host,
    program: frame.program,
    kind,
    text: frame.raw,
    source: streamKey(frame),
    offset: frame.origin.offset,
  };
}
