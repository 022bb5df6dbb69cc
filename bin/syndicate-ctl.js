#!/usr/bin/env node
// Runs src/cli/syndicate-ctl (compiled when fresh, else through tsx; see launch.js).
const { launch } = require('./launch.js');
launch('syndicate-ctl');
