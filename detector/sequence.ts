/**
 * Sequence numbers, for devices that send them: a jump forward is a gap (readings lost
 * between device and detector), the same number again is a repeat (a redelivery), a
 * jump backwards is a reset (the device restarted its counter). Counted per device.
 *
 * A gap is judged only against the device's previous reading within `memoryUs`: after a
 * longer silence the inactivity alerts tell the story, and the bounded look-back keeps
 * the rule exactly rebuildable from recent history after a restart.
 */
export class SequenceState {
  lastSeq = Number.NaN;
  lastTimeUs = Number.NEGATIVE_INFINITY;
  gaps = 0;
  missing = 0;
  repeats = 0;
  resets = 0;
}

export enum SequenceOutcome {
  First = 0,
  Next = 1,
  Gap = 2,
  Repeat = 3,
  Reset = 4,
}

/** Feeds one in-order reading's seq; on Gap, `state.missing` has grown by the count lost. */
export function observeSequence(state: SequenceState, timeUs: number, seq: number, memoryUs: number): SequenceOutcome {
  const prev = state.lastSeq;
  const known = !Number.isNaN(prev) && state.lastTimeUs > timeUs - memoryUs;
  state.lastSeq = seq;
  state.lastTimeUs = timeUs;
  if (!known) return SequenceOutcome.First;
  if (seq === prev + 1) return SequenceOutcome.Next;
  if (seq > prev + 1) {
    state.gaps++;
    state.missing += seq - prev - 1;
    return SequenceOutcome.Gap;
  }
  if (seq === prev) {
    state.repeats++;
    return SequenceOutcome.Repeat;
  }
  state.resets++;
  return SequenceOutcome.Reset;
}
