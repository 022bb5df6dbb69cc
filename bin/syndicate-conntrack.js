#!/usr/bin/env node
// Runs src/net/conntrack-daemon (through src/cli; compiled when fresh, else through tsx; see launch.js).
const { launch } = require('./launch.js');
launch('syndicate-conntrack');
