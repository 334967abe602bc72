/**
 * Entry point of the `ipvs` command. Output is gathered and written once at
 * the end (one write per stream).
 */
import { main, programName } from './app.js';
import type { Io } from './run.js';

let out = '';
let err = '';
const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
main(process.argv.slice(2), io).then(
  (status) => {
    if (err) process.stderr.write(err);
    if (out) process.stdout.write(out);
    process.exitCode = status & 0xff;
  },
  (e: unknown) => {
    if (out) process.stdout.write(out);
    process.stderr.write(`${programName()}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
