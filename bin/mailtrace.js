#!/usr/bin/env node
// Entry point of the `mailtrace` command: runs the compiled CLI (npm install / npm ci build it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error(
    'mailtrace: the compiled program is missing (dist/). Run `npm run build` in the mailtrace folder.',
  );
  process.exit(1);
}
const { run } = await import(main);
process.exitCode = await run(process.argv);
