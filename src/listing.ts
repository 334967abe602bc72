/**
 * Full listings: one service dump, then the real servers of every service,
 * one destination dump after another (the kernel runs one dump at a time per
 * socket). Replies are decoded as they are read, straight from the receive
 * buffer (scan.ts), and the connection sends the next dump from inside the
 * handling of the previous one's end, so each service costs one send and one
 * read, with no turn of the event loop in between.
 *
 * What a listing allocates beyond its result is kept small (bench row
 * "library, listServices({ withDestinations: true })"). Naive twin: one
 * listDestinations call per service (client.test.ts holds the two equal).
 */
import type { Connection, Request, RequestSource } from './netlink/connection.js';
import type { ByteWriter } from './netlink/attributes.js';
import type { IpvsError } from './errors.js';
import { writeDumpDestinations } from './ipvs/fast.js';
import { keyOf } from './ipvs/keys.js';
import * as req from './ipvs/requests.js';
import { scanDestination, scanService } from './ipvs/scan.js';
import type { Destination, Service, ServiceKey } from './ipvs/types.js';

/** Every service (like `ipvsadm -Ln`), with its real servers when asked. */
export async function listServices(conn: Connection, family: number, withDestinations: boolean): Promise<Service[]> {
  const services: Service[] = [];
  const r = req.listServices(family);
  r.onReply = (data, view, start, end) => void services.push(scanService(data, view, start, end));
  await conn.request(r);
  if (withDestinations && services.length > 0) await new DestinationDumps(family, services).run(conn);
  return services;
}

/**
 * The destination dumps of a listing, as one feed whose every request is
 * this same object. Only one dump is ever being answered, and a dump is
 * written into a send only once the previous one has ended, so `cursor`
 * (the service whose dump goes out next, or is being answered) moves on
 * when a dump ends: `encode` writes that service's dump (the same bytes if
 * a send is rebuilt and it is written again) and `onReply` fills its real
 * servers. No request, key, closure or packed message per service.
 */
export class DestinationDumps implements Request {
  readonly dump = true;
  readonly operation = 'listServices';
  /** Requests handed out so far (one per service). */
  private handed = 0;
  /** The service whose dump is written next or being answered. */
  private cursor = 0;
  private dests: Destination[] = [];
  private failed = false;
  private resolve: () => void = () => {};
  private reject: (e: IpvsError) => void = () => {};

  constructor(
    private readonly family: number,
    private readonly services: Service[],
  ) {}

  run(conn: Connection): Promise<void> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      conn.feed(this.source);
    });
  }

  /** The feed: this same request, once per service. */
  private readonly source: RequestSource = {
    next: () => {
      if (this.failed || this.handed >= this.services.length) return undefined;
      this.handed++;
      return this;
    },
    settle: (_index, error) => {
      if (this.failed) return;
      if (error) {
        this.failed = true;
        this.reject(error);
      } else if (++this.cursor === this.services.length) this.resolve();
    },
  };

  // Request: the dump of the service at the cursor.
  encode(w: ByteWriter): void {
    const s = this.services[this.cursor]!;
    this.dests = s.destinations = [];
    // The fast lane takes IPv4 services; the others take the general path.
    if (!writeDumpDestinations(w, this.family, s as ServiceKey)) req.listDestinationsOf(this.family, keyOf(s)).encode!(w);
  }

  /** The bytes `encode` writes (for debugging; sends use `encode`). */
  get message(): Uint8Array {
    const s = this.services[Math.min(this.cursor, this.services.length - 1)]!;
    return req.listDestinationsOf(this.family, keyOf(s)).message;
  }

  readonly onReply = (data: Uint8Array, view: DataView, start: number, end: number): void => {
    this.dests.push(scanDestination(data, view, start, end, this.services[this.cursor]!.family));
  };
}
