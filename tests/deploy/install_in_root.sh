#!/usr/bin/env bash
# Installs, reinstalls, removes and purges the flopwise package for real in a
# throwaway root, and runs the installed daemons as the flopwise user with the
# shipped configs and the docs' token recipe. Started by package_test.py in a
# private mount namespace (unshare --mount):
#   install_in_root.sh SCRATCH DEB TOKEN_RECIPE PORT
# The root is an overlay of / whose writes land in SCRATCH (gone with the
# namespace); /run is empty there, so the scripts do not call systemctl.
set -euo pipefail

if [[ "${1:-}" != --inner ]]; then
  scratch="$1" deb="$2" recipe="$3" port="$4"
  mount --make-rprivate /
  mkdir -p "$scratch/upper" "$scratch/work" "$scratch/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" \
    "$scratch/root"
  root="$scratch/root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -t tmpfs tmpfs "$root/run"
  mount -t tmpfs tmpfs "$root/tmp"
  mkdir -p "$root/tmp/t"
  cp "$deb" "$root/tmp/t/flopwise.deb"
  cp "$recipe" "$root/tmp/t/token-recipe.sh"
  cp "${BASH_SOURCE[0]}" "$root/tmp/t/inner.sh"
  exec chroot "$root" /bin/bash /tmp/t/inner.sh --inner "$port"
fi

port="$2"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
expect_stat() {
  local got
  got=$(stat -c '%U:%G %a' "$1")
  [[ "$got" == "$2" ]] || fail "$1: owner and mode $got, expected $2"
}
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done' EXIT
# Waits (up to a minute) until the command succeeds.
wait_for() {
  for _ in $(seq 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

getent passwd flopwise >/dev/null && fail "a flopwise user exists before the install"
echo "== dpkg -i"
dpkg -i /tmp/t/flopwise.deb

echo "== the user, the group and the directories"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd flopwise) || fail "no flopwise user"
((uid < 1000)) || fail "flopwise has uid $uid, not a system uid"
[[ "$home" == /var/lib/flopwise ]] || fail "flopwise's home is $home"
[[ "$shell" == /usr/sbin/nologin ]] || fail "flopwise's shell is $shell"
[[ "$(id -gn flopwise)" == flopwise ]] || fail "flopwise's group is $(id -gn flopwise)"
expect_stat /var/lib/flopwise "flopwise:flopwise 750"
expect_stat /etc/flopwise/tokens "root:flopwise 750"
expect_stat /etc/flopwise/coordinator.yaml "root:root 644"
expect_stat /usr/bin/flopwise-coordinator "root:root 755"

echo "== the installed data folder"
ids=$(echo "hello world" | flopwise data encode --tokenizer cl100k_base 2>&1) ||
  fail "flopwise data encode: $ids"
[[ "$ids" == "15339 1917 198" ]] || fail "cl100k_base encodes 'hello world' as $ids"

echo "== the token recipe of docs/operations.md"
bash -euo pipefail /tmp/t/token-recipe.sh
for role in client worker; do
  token=/etc/flopwise/tokens/$role.token
  expect_stat "$token" "flopwise:flopwise 600"
  runuser -u flopwise -- cat "$token" >/dev/null || fail "the flopwise user cannot read $token"
  runuser -u nobody -- cat "$token" >/dev/null 2>&1 && fail "nobody can read $token"
done
runuser -u nobody -- ls /etc/flopwise/tokens >/dev/null 2>&1 && fail "nobody can list the tokens"

if command -v systemd-analyze >/dev/null; then
  echo "== systemd-analyze verify at the installed paths"
  out=$(systemd-analyze verify /usr/lib/systemd/system/flopwise-coordinator.service \
    /usr/lib/systemd/system/flopwise-worker.service 2>&1) || fail "systemd-analyze verify: $out"
  [[ "$out" != *flopwise* ]] || fail "systemd-analyze verify: $out"
fi

echo "== the daemons as the flopwise user with the shipped configs"
# Always in a subshell (&, $(...)), which setpriv replaces and which execs the
# program: $! is the daemon (runuser would stay its parent and turn a
# SIGTERM into its own exit 143).
as_flopwise() { exec setpriv --reuid=flopwise --regid=flopwise --init-groups -- "$@"; }
out=$(as_flopwise flopwise-coordinator --config /etc/flopwise/coordinator.yaml \
  --listen "0.0.0.0:$port" 2>&1) && fail "the coordinator served 0.0.0.0 without TLS"
[[ "$out" == *"not a loopback address and TLS is off"* ]] || fail "no clear refusal: $out"
as_flopwise flopwise-coordinator --config /etc/flopwise/coordinator.yaml \
  --listen "127.0.0.1:$port" >/tmp/t/coordinator.log 2>&1 &
pids+=($!)
wait_for flopwise health --coordinator "127.0.0.1:$port" ||
  fail "the coordinator does not serve: $(cat /tmp/t/coordinator.log)"
as_flopwise flopwise-worker --config /etc/flopwise/worker.yaml \
  --coordinator "127.0.0.1:$port" >/tmp/t/worker.log 2>&1 &
worker=$!
pids+=("$worker")
export FLOPWISE_COORDINATOR="127.0.0.1:$port" FLOPWISE_TOKEN_FILE=/etc/flopwise/tokens/client.token
workers() { flopwise workers --json | grep -q '"hostname"'; }
wait_for workers || fail "no worker registered: $(cat /tmp/t/worker.log)"
[[ -s /var/lib/flopwise/worker/worker-id ]] || fail "the worker kept no id in its work dir"

echo "== a sweep trains on the installed worker (docs/operations.md's walkthrough, smaller)"
mkdir -p /srv/study
cd /srv/study
flopwise data prepare --tokenizer byte --input brown --out data/brown-bytes >/dev/null ||
  fail "flopwise data prepare --input brown failed with the installed corpus"
# cpu-demo.yaml (installed in /usr/share/doc/flopwise/examples/sweeps) cut to one run.
[[ -f /usr/share/doc/flopwise/examples/sweeps/cpu-demo.yaml ]] || fail "the example sweeps are missing"
cat >tiny.yaml <<'SPEC'
name: package-test
max_attempts: 2
seed: 1
vocab: 264
data:
  path: data/brown-bytes/train
architectures: [llama]
sizes: [cpu-1]
contexts: [128]
tokens: 8192
batch_tokens: 4096
checkpoint:
  every_tokens: 4096
log_every_steps: 1
optimizer: {name: adamw, lr: 1e-3, weight_decay: 0.1, beta1: 0.9, beta2: 0.95, schedule: constant}
resources:
  cpu_cores: 1
SPEC
sweep=$(flopwise submit tiny.yaml --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["sweep_id"])') ||
  fail "flopwise submit failed"
if ! timeout 240 flopwise status "$sweep" --watch >/tmp/t/watch.log 2>&1; then
  tail -5 /tmp/t/watch.log >&2
  flopwise runs --sweep "$sweep" >&2 || true
  flopwise run 1 >&2 || true
  tail -20 /tmp/t/worker.log >&2
  tail -20 /var/lib/flopwise/worker/logs/* >&2 || true
  fail "the sweep did not complete"
fi
checkpoints=$(find /var/lib/flopwise/checkpoints -user flopwise -type f | wc -l)
((checkpoints > 0)) || fail "no checkpoint files of the flopwise user under /var/lib/flopwise/checkpoints"
cd /
kill -TERM "$worker"
wait "$worker" || fail "the worker exited $? on SIGTERM: $(cat /tmp/t/worker.log)"
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "the coordinator exited $? on SIGTERM: $(cat /tmp/t/coordinator.log)"
[[ -f /var/lib/flopwise/flopwise.db ]] || fail "no database in /var/lib/flopwise"

echo "== reinstall over a changed config"
echo "# changed by the operator" >>/etc/flopwise/coordinator.yaml
dpkg -i /tmp/t/flopwise.deb
grep -q "changed by the operator" /etc/flopwise/coordinator.yaml ||
  fail "reinstalling overwrote the changed /etc/flopwise/coordinator.yaml"
expect_stat /etc/flopwise/tokens "root:flopwise 750"

echo "== dpkg -r"
dpkg -r flopwise
[[ ! -e /usr/bin/flopwise-coordinator ]] || fail "remove left /usr/bin/flopwise-coordinator"
[[ ! -e /usr/lib/systemd/system/flopwise-worker.service ]] || fail "remove left the worker unit"
[[ -f /etc/flopwise/coordinator.yaml ]] || fail "remove deleted the config"

echo "== dpkg -P"
dpkg -P flopwise
[[ ! -e /etc/flopwise/coordinator.yaml ]] || fail "purge left the config"
[[ -f /var/lib/flopwise/flopwise.db ]] || fail "purge deleted the database"
[[ -f /etc/flopwise/tokens/client.token ]] || fail "purge deleted the tokens"
getent passwd flopwise >/dev/null || fail "purge removed the flopwise user"
echo "install_in_root.sh: install, daemons, reinstall, remove and purge as expected"
