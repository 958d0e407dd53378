/**
 * Orders QoS 1 acknowledgements for one MQTT connection.
 *
 * Messages are handed off concurrently and their hand-offs finish in any order, but MQTT
 * requires PUBACKs in the order the PUBLISH packets arrived (MQTT 3.1.1 §4.6, MQTT 5 §4.6),
 * and acknowledging a message tells the broker it may forget it. So a PUBACK may go out only
 * once its message AND every message that arrived before it are confirmed: the sequencer
 * hands out a ticket per arrival and releases packet ids from the front of the line as far
 * as the confirmed prefix reaches.
 *
 * A fence stops releases at a ticket: used when a hand-off fails (that message and every
 * later one must stay unacknowledged so the broker redelivers them) and when stopping (what
 * has not been handed off must not be acknowledged).
 *
 * One sequencer per connection: packet ids mean nothing on another connection, so a new
 * connection gets a new sequencer and tickets of the old one are simply ignored.
 * Pure: no I/O, no timers.
 */

/** Arrival position on one connection (0, 1, 2, ...). */
export type Ticket = number;

const NOTHING: readonly number[] = Object.freeze([]);

export class AckSequencer {
  // The line, as parallel arrays from `head`: packet ids and whether each is confirmed.
  // Entries before `head` are released; the arrays are compacted now and then.
  private ids: number[] = [];
  private confirmed: boolean[] = [];
  private head = 0;
  /** Ticket of ids[head]. */
  private headTicket = 0;
  private fenceTicket = Infinity;

  /** Records an arriving QoS 1 PUBLISH; its ticket is what `confirm` takes. */
  arrive(packetId: number): Ticket {
    this.ids.push(packetId);
    this.confirmed.push(false);
    return this.headTicket + this.ids.length - 1 - this.head;
  }

  /**
   * Marks a message confirmed and returns the packet ids whose PUBACK may go out now, in
   * arrival order (often none: an earlier message is still pending). Confirming a ticket
   * twice, a released ticket or an unknown one releases nothing.
   */
  confirm(ticket: Ticket): readonly number[] {
    const index = this.head + (ticket - this.headTicket);
    if (!Number.isInteger(ticket) || index < this.head || index >= this.ids.length) return NOTHING;
    this.confirmed[index] = true;
    if (index !== this.head) return NOTHING;
    return this.release();
  }

  /**
   * From `ticket` on, nothing is ever released (a fence only moves backwards). Returns
   * nothing itself; confirmations before the fence still release as usual.
   */
  fence(ticket: Ticket): void {
    if (ticket < this.fenceTicket) this.fenceTicket = ticket;
  }

  /** The ticket the next arrival will get. */
  get nextTicket(): Ticket {
    return this.headTicket + this.ids.length - this.head;
  }

  /** Arrived but not yet released (those behind a fence included). */
  get pending(): number {
    return this.ids.length - this.head;
  }

  /** Whether everything before the fence (or everything, without one) has been released. */
  get settled(): boolean {
    return this.headTicket >= Math.min(this.fenceTicket, this.nextTicket);
  }

  private release(): readonly number[] {
    const out: number[] = [];
    while (this.head < this.ids.length && this.confirmed[this.head] && this.headTicket < this.fenceTicket) {
      out.push(this.ids[this.head]);
      this.head++;
      this.headTicket++;
    }
    // Compact once the released prefix dominates, so memory follows the in-flight window.
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.confirmed = this.confirmed.slice(this.head);
      this.head = 0;
    }
    return out.length === 0 ? NOTHING : out;
  }
}
