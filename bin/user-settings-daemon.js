#!/usr/bin/env node
// Runs src/settings/user-settings-daemon, a protocol daemon the bus starts with
// `protocol: application/syndicate` (compiled when fresh, else through tsx; see launch.js).
import { launch } from './launch.js';
await launch('user-settings-daemon', 'settings');
