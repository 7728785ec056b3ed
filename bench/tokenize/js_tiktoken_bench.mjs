// js-tiktoken's cl100k_base encoding speed on the same documents as
// bench_tokenize. Usage: node js_tiktoken_bench.mjs JS_TIKTOKEN_DIR DOCS.json SECONDS
// Prints one JSON line: {"mb_per_s": X, "cpu_mb_per_s": Y, "tokens": N}: the
// best repetition's wall-clock speed, and all repetitions per CPU-second.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, docsPath, seconds] = process.argv.slice(2);
const { getEncoding } = await import(pathToFileURL(path.join(packageDir, "dist", "index.js")).href);
const tokenizer = getEncoding("cl100k_base");
const docs = JSON.parse(fs.readFileSync(docsPath, "utf8"));
const bytes = docs.reduce((sum, doc) => sum + Buffer.byteLength(doc, "utf8"), 0);
const encodeAll = () => docs.reduce((sum, doc) => sum + tokenizer.encode(doc).length, 0);
const tokens = encodeAll();  // warm-up
let best = Infinity;
let repetitions = 0;
const cpuStart = process.cpuUsage();
const deadline = performance.now() + 1000 * Number(seconds);
do {
  const start = performance.now();
  encodeAll();
  best = Math.min(best, (performance.now() - start) / 1000);
  repetitions++;
} while (performance.now() < deadline);
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({
  mb_per_s: bytes / 1e6 / best,
  cpu_mb_per_s: (repetitions * bytes) / 1e6 / cpuSeconds,
  tokens,
}));
