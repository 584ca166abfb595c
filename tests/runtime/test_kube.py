"""Kubernetes: the manifests of deploy/kubernetes/ parsed (python3-yaml)
and checked field by field: a DaemonSet of `loupe agent` that is not
privileged, holds only the capabilities it needs (each with its reason
in a comment), mounts the host's directories read-only, runs on every
node, and is found by Prometheus; a Service in front of it; a service
account whose role reads pods only. The agent's arguments are given to
the real binary, which must accept them."""
import os
import re

from common import LOUPE, Skip, check, require_loupe, run_quiet, short

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(HERE, "..", "..", "deploy", "kubernetes")
# what the agent needs, and nothing else (docs/containers.md#kubernetes)
CAPS = {"BPF", "PERFMON", "SYS_ADMIN", "DAC_READ_SEARCH", "SYS_PTRACE",
        "SYSLOG"}
READ_ONLY = {"/sys/fs/cgroup": "/sys/fs/cgroup",
             "/sys/kernel/btf": "/sys/kernel/btf",
             "/sys/kernel/tracing": "/sys/kernel/tracing",
             "/host/proc": "/proc",
             "/run/containerd": "/run/containerd",
             "/run/containers": "/run/containers",
             "/var/lib/containers": "/var/lib/containers",
             "/var/lib/docker/containers": "/var/lib/docker/containers"}


def _yaml():
    try:
        import yaml
    except ImportError:
        raise Skip("python3-yaml is needed (make deps-test installs it)")
    return yaml


def _objects():
    yaml = _yaml()
    objs = {}
    for name in sorted(os.listdir(DEPLOY)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(DEPLOY, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc is None:
                    continue
                for key in ("apiVersion", "kind", "metadata"):
                    check(key in doc, "%s: an object without %s" % (name, key))
                objs[doc["kind"]] = doc
    return objs


def _walk(node, path=""):
    """Every (path, key, value) of a parsed document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from _walk(v, path + "." + str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, "%s[%d]" % (path, i))


def test_kube_manifests():
    objs = _objects()
    for kind in ("Namespace", "ServiceAccount", "ClusterRole",
                 "ClusterRoleBinding", "DaemonSet", "Service"):
        check(kind in objs, "no %s in deploy/kubernetes" % kind)
    ns = objs["Namespace"]["metadata"]["name"]
    for kind in ("ServiceAccount", "DaemonSet", "Service"):
        check(objs[kind]["metadata"].get("namespace") == ns,
              "%s is not in namespace %s" % (kind, ns))
    # nothing privileged, anywhere
    for kind, o in objs.items():
        for path, k, v in _walk(o):
            check(not (k == "privileged" and v is True),
                  "%s%s: privileged: true" % (kind, path))
            check(not (k == "allowPrivilegeEscalation" and v is True),
                  "%s%s: allowPrivilegeEscalation: true" % (kind, path))

    # the role: pods, read only
    rules = objs["ClusterRole"]["rules"]
    check(rules == [{"apiGroups": [""], "resources": ["pods"],
                     "verbs": ["get", "list", "watch"]}],
          "ClusterRole rules: %s" % rules)
    sa = objs["ServiceAccount"]["metadata"]["name"]
    b = objs["ClusterRoleBinding"]
    check(b["roleRef"]["name"] == objs["ClusterRole"]["metadata"]["name"]
          and b["subjects"] == [{"kind": "ServiceAccount", "name": sa,
                                 "namespace": ns}],
          "binding: %s" % b)

    ds = objs["DaemonSet"]
    spec = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    check(ds["spec"]["selector"]["matchLabels"].items() <= labels.items(),
          "selector does not match the pods' labels")
    check(spec.get("hostPID") is True, "hostPID is not true")
    check(not spec.get("hostNetwork"), "hostNetwork is not needed")
    check(spec["serviceAccountName"] == sa, "service account")
    check({"operator": "Exists"} in spec["tolerations"],
          "no toleration of every taint: %s" % spec["tolerations"])
    (c,) = spec["containers"]
    sc = c["securityContext"]
    check(sc["capabilities"]["drop"] == ["ALL"], "capabilities not dropped")
    added = set(sc["capabilities"]["add"])
    check(added <= CAPS, "capabilities beyond the agent's needs: %s"
          % (added - CAPS))
    check(sc.get("readOnlyRootFilesystem") is True, "root file system writable")
    env = {e["name"]: e for e in c["env"]}
    check(env.get("NODE_NAME", {}).get("valueFrom") ==
          {"fieldRef": {"fieldPath": "spec.nodeName"}}, "NODE_NAME: %s" % env)

    # the host's directories, read-only where they are the host's
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for path, host in READ_ONLY.items():
        m = mounts.get(path)
        check(m is not None, "no mount at %s" % path)
        check(m.get("readOnly") is True, "%s is not read-only" % path)
        check(vols[m["name"]]["hostPath"]["path"] == host,
              "%s is not the host's %s" % (path, host))
    writable = [p for p, m in mounts.items() if not m.get("readOnly")]
    check(writable == ["/var/cache/loupe"], "writable mounts: %s" % writable)

    # Prometheus finds the pods, and the Service reaches them
    port = c["ports"][0]
    ann = ds["spec"]["template"]["metadata"]["annotations"]
    check(ann.get("prometheus.io/scrape") == "true" and
          ann.get("prometheus.io/port") == str(port["containerPort"]),
          "scrape annotations: %s" % ann)
    listen = [a for a in c["args"] if a.startswith("--listen=")]
    check(listen == ["--listen=0.0.0.0:%d" % port["containerPort"]],
          "--listen %s vs port %s" % (listen, port))
    svc = objs["Service"]["spec"]
    check(svc["selector"].items() <= labels.items(), "Service selector")
    check(svc.get("type", "ClusterIP") == "ClusterIP", "Service type")
    check(svc["ports"][0]["targetPort"] in (port["name"],
                                            port["containerPort"]),
          "Service targetPort: %s" % svc["ports"])

    # the agent takes these arguments
    require_loupe()
    check(c["args"][0] == "agent", "args: %s" % c["args"])
    rc, out, err = run_quiet([LOUPE] + c["args"] + ["--list-metrics"])
    check(rc == 0, "loupe %s: %s %s" % (" ".join(c["args"]), rc, short(err)))


def test_kube_capabilities_explained():
    """Each added capability has its reason in a comment above it."""
    with open(os.path.join(DEPLOY, "daemonset.yaml")) as f:
        lines = f.read().splitlines()
    seen = set()
    for i, line in enumerate(lines):
        m = re.match(r"\s*- ([A-Z_]+)\s*$", line)
        if m and m.group(1) in CAPS:
            seen.add(m.group(1))
            check(i > 0 and lines[i - 1].strip().startswith("#"),
                  "capability %s has no comment above it" % m.group(1))
    check(seen, "no capabilities found in daemonset.yaml")
