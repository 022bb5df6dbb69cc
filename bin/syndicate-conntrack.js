#!/usr/bin/env node
// The VPN peer selection daemon (src/net/conntrack-daemon.ts), compiled when fresh, else through
// tsx (see launch.js). Started by the bus as a protocol daemon (etc/syndicate/services/conntrack.pr).
import { launch } from './launch.js';
await launch('../net/conntrack-daemon');
