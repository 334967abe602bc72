/**
 * The doctor as a program of its own, for bundling and for tests that must
 * run it as another process (say, without CAP_NET_ADMIN):
 *
 *   node doctor.js [--json] [--netns NAME] ...
 */
import { runDoctor } from './index.js';

process.exitCode = await runDoctor(process.argv.slice(2));
