#!/usr/bin/env node
// Runs the TypeScript program through tsx's loader.
import { register } from 'tsx/esm/api';
register();
const { run } = await import('../src/cli/syndicate-ctl.ts');
process.exitCode = await run();
