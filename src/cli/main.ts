/**
 * Entry point of the `ipvs` command. Output is gathered and written at the
 * end, standard error first, like ipvsadm's buffered stdout; output past
 * OUT_CHUNK is written as it comes (as C's stdio flushes a full buffer), so
 * a long listing's text is not all held at once.
 */
import { main, programName } from './app.js';
import type { Io } from './run.js';

const OUT_CHUNK = 64 * 1024;

// A reader that went away (`ipvs -Ln | head`) ends the command quietly, with
// the status a shell shows for ipvsadm killed by SIGPIPE (128 + 13): node
// ignores the signal and reports EPIPE as an error instead.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(128 + 13);
  throw e;
});

let out = '';
let err = '';
const io: Io = {
  out: (t) => {
    out += t;
    if (out.length < OUT_CHUNK) return;
    if (err) process.stderr.write(err);
    process.stdout.write(out);
    err = '';
    out = '';
  },
  err: (t) => void (err += t),
};
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
