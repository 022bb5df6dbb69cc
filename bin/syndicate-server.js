#!/usr/bin/env node
// Runs src/cli/syndicate-server (compiled when fresh, else through tsx; see launch.js).
const { launch } = require('./launch.js');
launch('syndicate-server');
