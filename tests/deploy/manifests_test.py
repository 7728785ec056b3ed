"""The Kubernetes manifest, the Slurm script and the container file, read and
checked for what makes them work as shipped (docs/operations.md, "Kubernetes",
"Slurm", "Container image"). No cluster is needed: the YAML is parsed with
python3-yaml and each object's required fields are looked up."""
import argparse
import os
import re
import subprocess
import sys

import yaml

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)


def get(obj, path, default=None):
    """obj['a']['b'][0]... for path 'a.b.0'; default when a step is missing."""
    for step in path.split("."):
        if isinstance(obj, list) and step.isdigit() and int(step) < len(obj):
            obj = obj[int(step)]
        elif isinstance(obj, dict) and step in obj:
            obj = obj[step]
        else:
            return default
    return obj


def flags(container):
    """--name=value arguments of a container, as a dict."""
    out = {}
    for arg in container.get("args", []):
        name, _, value = arg.partition("=")
        out[name] = value
    return out


def check_probe(container, kind):
    probe = container.get(kind)
    check(probe is not None, f"{container['name']}: no {kind}")
    if probe is None:
        return
    command = get(probe, "exec.command", [])
    # The kubelet's grpc probe cannot speak TLS: `flopwise health` over TLS.
    check(command[:2] == ["/usr/bin/flopwise", "health"], f"{kind}: {command}")
    check(any(arg.startswith("--tls-ca=") for arg in command), f"{kind}: not over TLS: {command}")


def check_pod_basics(name, spec, container):
    check(get(spec, "securityContext.runAsNonRoot") is True, f"{name}: may run as root")
    check(get(spec, "securityContext.runAsUser") == 999, f"{name}: not the image's flopwise uid")
    for key in ("cpu", "memory"):
        check(get(container, f"resources.requests.{key}") is not None, f"{name}: no {key} request")
        check(get(container, f"resources.limits.{key}") is not None, f"{name}: no {key} limit")
    check(container["image"] == "flopwise:0.1.0", f"{name}: image {container['image']}")


def check_kubernetes(path):
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    by_kind = {}
    for doc in docs:
        for key in ("apiVersion", "kind", "metadata"):
            check(key in doc, f"an object without {key}: {doc}")
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    services = by_kind.get("Service", {})
    claims = by_kind.get("PersistentVolumeClaim", {})
    sets = by_kind.get("StatefulSet", {})
    check("Deployment" not in by_kind, "workers as a Deployment lose their id on restart")
    check(set(sets) == {"flopwise-coordinator", "flopwise-worker"}, f"StatefulSets: {set(sets)}")
    if set(sets) != {"flopwise-coordinator", "flopwise-worker"}:
        return
    for name, statefulset in sets.items():
        spec = statefulset["spec"]
        service = services.get(spec.get("serviceName"))
        check(service is not None and get(service, "spec.clusterIP") == "None",
              f"{name}: serviceName {spec.get('serviceName')} is not a headless Service")
        labels = get(spec, "template.metadata.labels", {})
        check(all(labels.get(k) == v for k, v in get(spec, "selector.matchLabels", {}).items()),
              f"{name}: the selector does not match the pod labels")
        pod = get(spec, "template.spec")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        templates = {get(t, "metadata.name") for t in spec.get("volumeClaimTemplates", [])}
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for mount in container.get("volumeMounts", []):
                check(mount["name"] in volumes or mount["name"] in templates,
                      f"{name}/{container['name']}: mount {mount['name']} has no volume")
        for volume in volumes.values():
            claim = get(volume, "persistentVolumeClaim.claimName")
            check(claim is None or claim in claims, f"{name}: claim {claim} is not defined")
            secret = volume.get("secret")
            if secret:
                check(secret.get("defaultMode") == 0o440, f"{name}: secret {volume['name']} mode")

    coordinator_pod = get(sets["flopwise-coordinator"], "spec.template.spec")
    coordinator = coordinator_pod["containers"][0]
    check_pod_basics("coordinator", coordinator_pod, coordinator)
    args = flags(coordinator)
    check(args.get("--listen") == "0.0.0.0:7450", f"coordinator --listen {args.get('--listen')}")
    check(args.get("--tls-cert", "").startswith("/etc/flopwise/tls/")
          and args.get("--tls-key", "").startswith("/etc/flopwise/tls/"),
          "the coordinator does not serve TLS")
    check("--allow-insecure" not in args, "the coordinator allows clear text")
    check(args.get("--db", "").startswith("/var/lib/flopwise/"), "the database is not on the state volume")
    mounts = {m["mountPath"]: m["name"] for m in coordinator["volumeMounts"]}
    check(mounts.get("/var/lib/flopwise") == "state", "the state volume is not at /var/lib/flopwise")
    check("state" in {get(t, "metadata.name") for t in
                      get(sets["flopwise-coordinator"], "spec.volumeClaimTemplates", [])},
          "the coordinator's state is not a volumeClaimTemplate")
    check(args.get("--checkpoint-root") in mounts, "the checkpoint root is not a mounted volume")
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        check_probe(coordinator, kind)
    secrets = {get(v, "secret.secretName") for v in coordinator_pod["volumes"] if "secret" in v}
    check({"flopwise-tokens", "flopwise-tls"} <= secrets, f"coordinator secrets: {secrets}")
    for flag in ("--client-token-file", "--worker-token-file"):
        check(args.get(flag, "").startswith("/etc/flopwise/tokens/"), f"coordinator {flag}")

    worker_set = sets["flopwise-worker"]
    worker_pod = get(worker_set, "spec.template.spec")
    worker = worker_pod["containers"][0]
    check_pod_basics("worker", worker_pod, worker)
    args = flags(worker)
    check("--tls-ca" in args or "--tls" in args, "the worker does not use TLS")
    check(args.get("--coordinator") == "flopwise-coordinator:7450", f"worker {args.get('--coordinator')}")
    mounts = {m["mountPath"]: m["name"] for m in worker["volumeMounts"]}
    templates = {get(t, "metadata.name") for t in worker_set["spec"].get("volumeClaimTemplates", [])}
    check(mounts.get(args.get("--work-dir")) in templates,
          "the worker's --work-dir (its id) is not on a per-pod persistent volume")
    data = [v for v in worker_pod["volumes"] if get(v, "persistentVolumeClaim.claimName") == "flopwise-data"]
    check(len(data) == 1 and mounts.get("/data") == data[0]["name"], "the workers have no data volume")
    stop = float(args.get("--stop-timeout-s", "120"))
    check(worker_pod.get("terminationGracePeriodSeconds", 30) > stop + 30,
          "terminationGracePeriodSeconds leaves the worker no time to report after its trainers stop")
    check(args.get("--token-file", "").startswith("/etc/flopwise/tokens/"), "worker --token-file")


def check_slurm(path):
    text = open(path, encoding="utf-8").read()
    directives = dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(\S+))?", text, re.M))
    check(re.fullmatch(r"gpu:\d+", directives.get("gres", "")), f"sbatch --gres: {directives.get('gres')}")
    signal = re.fullmatch(r"B:TERM@(\d+)", directives.get("signal", ""))
    check(signal is not None, f"sbatch --signal: {directives.get('signal')} (B:TERM@SECONDS)")
    stop = re.search(r"--stop-timeout-s (\d+)", text)
    if signal and stop:
        # Slurm may signal up to 60 s late; the trainers need stop-timeout-s
        # and the worker then reports.
        check(int(signal.group(1)) >= int(stop.group(1)) + 60 + 60,
              f"--signal @{signal.group(1)} leaves too little time after --stop-timeout-s {stop.group(1)}")
    check("time" in directives, "sbatch --time is not set")
    check("--array" in text, "no job-array recipe")
    check(os.access(path, os.X_OK), f"{path} is not executable")
    check(subprocess.run(["bash", "-n", path]).returncode == 0, f"{path}: bash -n fails")


def check_container(path):
    text = open(path, encoding="utf-8").read()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    check(froms and all(f.startswith("debian:bookworm") for f in froms), f"FROM {froms}")
    for step in ("scripts/install-deps.sh", "scripts/package.sh", "-DFLOPWISE_NATIVE=OFF"):
        check(step in text, f"the container file does not use {step}")
    check(re.search(r"apt-get install .*flopwise_\*\.deb", text), "the image does not install the .deb")
    check(re.search(r"^USER 999:999$", text, re.M), "the image does not run as uid 999")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    deploy = os.path.join(args.source, "deploy")
    check_kubernetes(os.path.join(deploy, "kubernetes", "flopwise.yaml"))
    check_slurm(os.path.join(deploy, "slurm", "flopwise-worker.sbatch"))
    check_container(os.path.join(deploy, "container", "Dockerfile"))
    if failures:
        sys.exit(f"{len(failures)} problem(s) in deploy/")
    print("deploy/: the Kubernetes manifest, the Slurm script and the container file check out")


if __name__ == "__main__":
    main()
