/**
 * The queue of requests not yet sent: single requests, and feeds (sources
 * of many, pulled one at a time as room allows), in issue order.
 */
import { IpvsError, asInputError, closedError } from '../errors.js';
import { Pending } from './inflight.js';
import { NONE, type Request, type RequestSource } from './request.js';

/** A RequestSource in the queue, with the request it handed out but could not yet send. */
export class Feed {
  /** Requests handed out so far. */
  count = 0;
  peeked: Pending | null = null;
  ended = false;
  constructor(readonly source: RequestSource) {}
}

export class RequestQueue {
  private items: Array<Pending | Feed | undefined> = [];
  private head = 0;
  /** The last feed queued (see `growable`). */
  private lastFeed: Feed | null = null;

  /** Whether anything is queued. */
  get empty(): boolean {
    return this.head >= this.items.length;
  }

  push(item: Pending | Feed): void {
    if (item instanceof Feed) this.lastFeed = item;
    this.items.push(item);
  }

  /** Whether `source` is the last item queued and has not ended (see Connection.growable). */
  growable(source: RequestSource): boolean {
    const f = this.lastFeed;
    return f !== null && f.source === source && !f.ended && this.items[this.items.length - 1] === f;
  }

  /** A feed at the head that writes its own requests (the fast lane), if that is what comes next. */
  writer(): Feed | undefined {
    const head = this.items[this.head];
    return head instanceof Feed && !head.peeked && !head.ended && head.source.write ? head : undefined;
  }

  /**
   * The next request to send (left in place), or undefined when the queue is
   * empty. A feed's input errors are settled on the way.
   */
  peek(): Pending | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head]!;
      if (item instanceof Pending) return item;
      if (item.peeked) return item.peeked;
      if (!item.ended) {
        const index = item.count;
        let r: Request | IpvsError | undefined;
        try {
          r = item.source.next();
        } catch (e) {
          r = asInputError(e, 'batch', `request ${index}`);
        }
        if (r !== undefined) {
          item.count++;
          if (r instanceof IpvsError) {
            item.source.settle(index, r, NONE);
            continue;
          }
          item.peeked = new Pending(r, null, item.source, index);
          return item.peeked;
        }
        item.ended = true;
      }
      this.items[this.head++] = undefined;
    }
    return undefined;
  }

  /** Takes the request `peek` returned off the queue. */
  take(): void {
    const item = this.items[this.head]!;
    if (item instanceof Pending) this.items[this.head++] = undefined;
    else item.peeked = null;
  }

  /** Lets go of the slots already taken. */
  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Empties the queue, failing everything in it with `make`'s error (the connection closed). */
  failAll(make: (operation: string, seq: undefined) => IpvsError): void {
    const queued = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    for (const item of queued) {
      if (item instanceof Pending) item.complete(make(item.req.operation, undefined), NONE);
      else if (item) {
        if (item.peeked) item.peeked.complete(make(item.peeked.req.operation, undefined), NONE);
        if (!item.ended) drainClosed(item.source, item.count);
      }
    }
  }
}

/** Fails every request a source still has (the connection is closed). */
export function drainClosed(source: RequestSource, from = 0): void {
  for (let i = from; ; i++) {
    let r: Request | IpvsError | undefined;
    try {
      r = source.next();
    } catch {
      r = undefined;
    }
    if (r === undefined) return;
    source.settle(i, r instanceof IpvsError ? r : closedError(r.operation), NONE);
  }
}
