// Parses AsyncAPI documents with the reference parser; exits 1 when any document has an
// error diagnostic (schema violation, broken reference, ...). Reads local files only.
// Usage: node tools/asyncapi/validate.mjs docs/asyncapi.yaml [more.yaml ...]
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const LABEL = { [DiagnosticSeverity.Error]: "error", [DiagnosticSeverity.Warning]: "warning" };

async function validate(parser, path) {
  const source = resolve(path);
  const { document, diagnostics } = await parser.parse(await readFile(source, "utf8"), { source });
  let errors = 0;
  for (const d of diagnostics) {
    if (!(d.severity in LABEL)) continue; // information and hints, e.g. "a newer AsyncAPI exists"
    const where = d.path && d.path.length ? d.path.join(".") : "(document)";
    const line = `${path}: ${LABEL[d.severity]} ${d.code}: ${d.message} at ${where}`;
    if (d.severity === DiagnosticSeverity.Error) {
      errors += 1;
      console.error(line);
    } else {
      console.log(line);
    }
  }
  if (errors || !document) {
    console.error(`${path}: INVALID (${errors} error(s))`);
    return false;
  }
  const channels = document.channels().all().map((c) => c.address());
  const messages = document.components().messages().all().length;
  console.log(`${path}: valid AsyncAPI ${document.version()}: ${channels.length} channel(s) ` +
              `[${channels.join(", ")}], ${messages} message(s)`);
  return true;
}

async function main(paths) {
  if (!paths.length) {
    console.error("usage: node validate.mjs <asyncapi.yaml> [...]");
    return 2;
  }
  const parser = new Parser();
  let ok = true;
  for (const path of paths) {
    ok = (await validate(parser, path)) && ok;
  }
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
