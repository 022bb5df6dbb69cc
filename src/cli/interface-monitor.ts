// The interface monitor as a program of its own (bin/interface-monitor.js); it lives in src/net.
export { run } from '../net/interface-monitor.ts';
