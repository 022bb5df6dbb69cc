#!/usr/bin/env node
// Runs src/cli/syndicate-ctl (compiled when fresh, else through tsx; see launch.js).
import { launch } from './launch.js';
await launch('syndicate-ctl');
