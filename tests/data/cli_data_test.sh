#!/usr/bin/env bash
# `flopwise data` end to end: encode/decode round trips, prepare, and the
# messages for bad input. Usage: cli_data_test.sh PATH_TO_FLOPWISE
set -euo pipefail
FLOPWISE="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

text=$'Hello, world! It\'s 2024 — naïve café 🎉\n\ttabs  and   spaces'
for tokenizer in byte cl100k_base r50k_base o200k_base; do
  printf '%s' "$text" >"$WORK/in.txt"
  "$FLOPWISE" data encode --tokenizer "$tokenizer" <"$WORK/in.txt" >"$WORK/ids.txt"
  "$FLOPWISE" data decode --tokenizer "$tokenizer" <"$WORK/ids.txt" >"$WORK/out.txt"
  cmp -s "$WORK/in.txt" "$WORK/out.txt" || fail "$tokenizer: decode(encode(x)) != x"
  "$FLOPWISE" data encode --tokenizer "$tokenizer" --json <"$WORK/in.txt" >"$WORK/ids.json"
  [[ "$(head -c1 "$WORK/ids.json")" == "[" ]] || fail "$tokenizer: --json did not print an array"
  "$FLOPWISE" data decode --tokenizer "$tokenizer" <"$WORK/ids.json" | cmp -s - "$WORK/in.txt" ||
    fail "$tokenizer: JSON round trip"
done

expect_error() {  # expect_error MESSAGE COMMAND...: the command fails and stderr names MESSAGE
  local message="$1"
  shift
  if "$@" 2>"$WORK/err.txt" >/dev/null; then fail "succeeded: $*"; fi
  grep -qF -- "$message" "$WORK/err.txt" || fail "expected '$message', got: $(cat "$WORK/err.txt")"
}
echo "100 100276 100277" >"$WORK/bad_ids.txt"
expect_error "token id 100277 at position 2 is not in the vocabulary" \
  "$FLOPWISE" data decode --tokenizer cl100k_base <"$WORK/bad_ids.txt"
printf 'ok\xffno' >"$WORK/bad.txt"
expect_error "invalid UTF-8 at byte offset 2" "$FLOPWISE" data encode <"$WORK/bad.txt"
[[ "$("$FLOPWISE" data encode --tokenizer byte --replace-invalid <"$WORK/bad.txt")" == \
  "111 107 239 191 189 110 111" ]] || fail "encode --replace-invalid"
expect_error "$WORK/bad.txt: invalid UTF-8 at byte offset 2" \
  "$FLOPWISE" data prepare --tokenizer byte --input "$WORK/bad.txt" --out "$WORK/bad-out"
: >"$WORK/empty.txt"
expect_error "no text" "$FLOPWISE" data prepare --tokenizer byte --input "$WORK/empty.txt" \
  --out "$WORK/empty-out"
expect_error "is unknown" "$FLOPWISE" data encode --tokenizer nope <"$WORK/in.txt"

"$FLOPWISE" data prepare --tokenizer cl100k_base --input "$WORK/bad.txt" --input "$WORK/in.txt" \
  --replace-invalid --validation-fraction 0 --out "$WORK/ds" >"$WORK/prepare.txt"
grep -q "throughput" "$WORK/prepare.txt" || fail "prepare printed no throughput"
grep -q '"vocab_size": 100280' "$WORK/ds/train/manifest.json" || fail "manifest vocab_size"
grep -q '"documents": 2' "$WORK/ds/train/manifest.json" || fail "manifest documents"
echo "cli_data_test: ok"
