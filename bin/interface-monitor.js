#!/usr/bin/env node
// Runs src/net/interface-monitor (through src/cli; compiled when fresh, else through tsx; see launch.js).
const { launch } = require('./launch.js');
launch('interface-monitor');
