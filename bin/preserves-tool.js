#!/usr/bin/env node
// Runs src/cli/preserves-tool (compiled when fresh, else through tsx; see launch.js).
import { launch } from './launch.js';
await launch('preserves-tool');
