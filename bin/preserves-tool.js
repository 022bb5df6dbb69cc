#!/usr/bin/env node
// Runs src/cli/preserves-tool (compiled when fresh, else through tsx; see launch.js).
const { launch } = require('./launch.js');
launch('preserves-tool');
