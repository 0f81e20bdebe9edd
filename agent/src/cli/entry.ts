// The `edgek8s` program: runs the CLI with the process's arguments. bin/edgek8s.js imports it from
// the sources (a checkout, with Node's type stripping) or from dist/ (the image, an installed package).
import { run } from "./main.ts";

process.exitCode = await run(process.argv.slice(2));
