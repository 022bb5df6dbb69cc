// The VPN peer selection daemon as a program of its own (bin/syndicate-conntrack.js); it lives in src/net.
export { run } from '../net/conntrack-daemon.ts';
