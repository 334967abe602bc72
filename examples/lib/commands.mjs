// The line protocol of the example helper processes (client.mjs, lines.mjs):
// one JSON command per stdin line, {"id", "op", ...}; one JSON reply per
// stdout line, {"id", ...result} or {"id", "error"}; "ready" once listening.
import readline from 'node:readline';

/** Serves `ops` (name -> async (cmd) => result) on stdin/stdout; `onClose` runs when stdin ends, then the process exits. */
export function serveCommands(ops, onClose) {
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', async (line) => {
    let id;
    try {
      const cmd = JSON.parse(line);
      id = cmd.id;
      const op = Object.hasOwn(ops, cmd.op) ? ops[cmd.op] : undefined;
      if (!op) throw new Error(`unknown op ${cmd.op}`);
      process.stdout.write(JSON.stringify({ id, ...(await op(cmd)) }) + '\n');
    } catch (e) {
      process.stdout.write(JSON.stringify({ id, error: e.message }) + '\n');
    }
  });
  input.on('close', () => {
    onClose();
    process.exit(0);
  });
  process.stdout.write('ready\n');
}
