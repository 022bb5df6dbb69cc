#!/usr/bin/env node
// Runs src/settings/user-settings-daemon, a protocol daemon the bus starts with
// `protocol: application/syndicate` (compiled when fresh, else through tsx; see launch.js).
const { launch } = require('./launch.js');
launch('user-settings-daemon', 'settings');
