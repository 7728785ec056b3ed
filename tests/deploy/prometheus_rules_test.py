"""The Prometheus files in deploy/prometheus/ work as shipped
(docs/operations.md, "Metrics"): promtool accepts the scrape configuration and
the alert rules, the rules' unit tests (flopwise-rules-test.yml) fire each
alert on the series it is meant for and on no healthy one, and every metric
and label value the rules name is on a real coordinator's /metrics page."""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CLIENT_TOKEN = "client-token-0123456789"
WORKER_TOKEN = "worker-token-9876543210"


def promtool(*args, cwd):
    result = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=120)
    return result.returncode, result.stdout + result.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics_page(bin_dir, scratch):
    """Starts a coordinator on loopback and returns its /metrics text."""
    for name, token in (("client.token", CLIENT_TOKEN), ("worker.token", WORKER_TOKEN)):
        path = os.path.join(scratch, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        os.chmod(path, 0o600)
    metrics_port = free_port()
    log = open(os.path.join(scratch, "coordinator.log"), "w", encoding="utf-8")
    daemon = subprocess.Popen(
        [os.path.join(bin_dir, "flopwise-coordinator"), "--listen", f"127.0.0.1:{free_port()}",
         "--metrics-listen", f"127.0.0.1:{metrics_port}", "--db", os.path.join(scratch, "db"),
         "--client-token-file", os.path.join(scratch, "client.token"),
         "--worker-token-file", os.path.join(scratch, "worker.token")],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{metrics_port}/metrics",
                                         headers={"Authorization": f"Bearer {CLIENT_TOKEN}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.read().decode("utf-8")
            except OSError:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the coordinator served no /metrics page; its log: " +
                                       open(log.name, encoding="utf-8").read())
                time.sleep(0.2)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.close()


def unserved_references(rules_text, page):
    """The rules' metric names, and name{label="value"} matchers, absent from the page."""
    families = set(re.findall(r"^# TYPE (\w+) ", page, re.M))
    samples = [line for line in page.splitlines() if line and not line.startswith("#")]
    missing = []
    for name, matchers in re.findall(r"\b(flopwise_\w+)(?:\{([^}]*)\})?", rules_text):
        if name not in families:
            missing.append(name)
            continue
        for label, value in re.findall(r'(\w+)="([^"]*)"', matchers):
            if not any(s.startswith(name + "{") and f'{label}="{value}"' in s for s in samples):
                missing.append(f'{name}{{{label}="{value}"}}')
    return missing


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    if shutil.which("promtool") is None:
        print("SKIP: promtool not found (Debian package prometheus; scripts/install-deps.sh)")
        sys.exit(77)
    shipped = os.path.join(args.source, "deploy", "prometheus")
    failures = []
    with tempfile.TemporaryDirectory(prefix="flopwise-prometheus-") as d:
        shutil.copy(os.path.join(shipped, "flopwise-rules.yml"), d)
        shutil.copy(os.path.join(args.source, "tests", "deploy", "flopwise-rules-test.yml"), d)
        for check in (("check", "rules", "flopwise-rules.yml"),
                      ("test", "rules", "flopwise-rules-test.yml")):
            code, output = promtool(*check, cwd=d)
            print(f"promtool {' '.join(check)}: exit {code}\n{output}")
            if code != 0:
                failures.append(f"promtool {' '.join(check)} failed")

        # The scrape configuration names the token file an operator installs;
        # promtool reads it, so the check points it at a scratch copy.
        token = os.path.join(d, "flopwise-client.token")
        with open(token, "w", encoding="utf-8") as f:
            f.write(CLIENT_TOKEN + "\n")
        with open(os.path.join(shipped, "prometheus.yml"), encoding="utf-8") as f:
            config = f.read()
        installed_token = "/etc/prometheus/flopwise-client.token"
        if f"credentials_file: {installed_token}" not in config:
            failures.append(f"prometheus.yml: no credentials_file: {installed_token}")
        with open(os.path.join(d, "prometheus.yml"), "w", encoding="utf-8") as f:
            f.write(config.replace(f"credentials_file: {installed_token}",
                                   f"credentials_file: {token}"))
        code, output = promtool("check", "config", "prometheus.yml", cwd=d)
        print(f"promtool check config: exit {code}\n{output}")
        if code != 0:
            failures.append("promtool check config failed")

        with open(os.path.join(shipped, "flopwise-rules.yml"), encoding="utf-8") as f:
            rules = f.read()
        for reference in unserved_references(rules, metrics_page(args.bin, d)):
            failures.append(f"flopwise-rules.yml names {reference}, which /metrics does not serve")
    for failure in failures:
        print("FAIL: " + failure, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("the Prometheus configuration and alert rules check, their unit tests pass, and every "
          "metric they name is served")


if __name__ == "__main__":
    main()
