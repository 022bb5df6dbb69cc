#!/usr/bin/env node
// Runs src/net/conntrack-daemon (through src/cli; compiled when fresh, else through tsx; see launch.js).
import { launch } from './launch.js';
await launch('syndicate-conntrack');
