// Encodes texts with js-tiktoken, the reference the parity tests compare to.
// Usage: node tiktoken_peer.mjs JS_TIKTOKEN_DIR ENCODING IN.json OUT.json
// IN.json: an array of strings; OUT.json: an array of id arrays (special
// tokens allowed).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, encoding, inPath, outPath] = process.argv.slice(2);
const { getEncoding } = await import(pathToFileURL(path.join(packageDir, "dist", "index.js")).href);
const tokenizer = getEncoding(encoding);
const texts = JSON.parse(fs.readFileSync(inPath, "utf8"));
fs.writeFileSync(outPath, JSON.stringify(texts.map((text) => tokenizer.encode(text, "all"))));
