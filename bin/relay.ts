#!/usr/bin/env node
/** `relay`: the CLI's entry. Run `relay --help`; the commands live in lib/cli/. */
import { main } from '../lib/cli/main';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
