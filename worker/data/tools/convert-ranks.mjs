// Converts js-tiktoken's compact ranks modules (dist/ranks/<name>.js) into
// tiktoken's standard ranks files: one "<base64 token> <rank>" line per token,
// ordered by rank. Usage: node convert-ranks.mjs JS_TIKTOKEN_DIR OUT_DIR NAME...
// Writes OUT_DIR/<name>.tiktoken through a temporary file and a rename, and
// skips a name whose output is already newer than its source.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

function expandRanks(compact) {
  // Each line: "<marker> <first rank> <token> <token> ...", consecutive ranks.
  const entries = [];
  for (const line of compact.split("\n")) {
    if (line.length === 0) continue;
    const fields = line.split(" ");
    const first = Number.parseInt(fields[1], 10);
    if (!Number.isInteger(first) || first < 0) {
      throw new Error(`bad rank offset '${fields[1]}'`);
    }
    for (let i = 2; i < fields.length; i++) entries.push([fields[i], first + i - 2]);
  }
  entries.sort((a, b) => a[1] - b[1]);
  return entries;
}

async function convert(packageDir, outDir, name) {
  const source = path.join(packageDir, "dist", "ranks", `${name}.js`);
  const target = path.join(outDir, `${name}.tiktoken`);
  if (!fs.existsSync(source)) throw new Error(`${source}: not found`);
  if (fs.existsSync(target) && fs.statSync(target).mtimeMs >= fs.statSync(source).mtimeMs) {
    return false;
  }
  const module = await import(pathToFileURL(source).href);
  const entries = expandRanks(module.default.bpe_ranks);
  const text = entries.map(([token, rank]) => `${token} ${rank}\n`).join("");
  const temporary = `${target}.tmp-${process.pid}`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, target);
  console.log(`prepare-tokenizers: wrote ${target} (${entries.length} ranks)`);
  return true;
}

const [packageDir, outDir, ...names] = process.argv.slice(2);
if (!packageDir || !outDir || names.length === 0) {
  console.error("usage: node convert-ranks.mjs JS_TIKTOKEN_DIR OUT_DIR NAME...");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
try {
  for (const name of names) await convert(packageDir, outDir, name);
} catch (error) {
  console.error(`prepare-tokenizers: ${error.message}`);
  process.exit(1);
}
