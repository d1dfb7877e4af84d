#!/usr/bin/env -S npx tsx
// The `riskstream` entry: parses nothing itself and imports no role. Exiting explicitly ends any
// client retry timer that a failed command may have left behind.
import { main } from '../cli/main.ts'

process.exit(await main(process.argv.slice(2)))
