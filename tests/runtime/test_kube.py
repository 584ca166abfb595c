"""Kubernetes: the manifests of deploy/kubernetes/ parsed (python3-yaml)
and checked field by field: a DaemonSet of `loupe agent` that is not
privileged, holds only the capabilities it needs (each with its reason
in a comment), mounts the host's directories read-only, runs on every
node, and is found by Prometheus; a Service in front of it; a service
account whose role reads pods only. The agent's arguments are given to
the real binary, which must accept them."""
import os
import re
import subprocess

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
    check(sc.get("seccompProfile") == {"type": "RuntimeDefault"},
          "seccomp: %s" % sc.get("seccompProfile"))
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


def _podman_args(ds, cache):
    """`podman run` flags giving a container what the DaemonSet gives its
    pod: host pid namespace, the capabilities, the mounts (a host path
    absent here is a runtime this machine lacks: left out, as the
    manifest's type "" allows), a read-only root, no privilege gain."""
    spec = ds["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    sc = c["securityContext"]
    args = ["--pid", "host"] if spec.get("hostPID") else []
    args += ["--cap-drop", "all",
             "--cap-add", ",".join(sc["capabilities"]["add"])]
    if sc.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if sc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    vols = {v["name"]: v for v in spec["volumes"]}
    for m in c["volumeMounts"]:
        host = vols[m["name"]]["hostPath"]["path"]
        if m["mountPath"] == "/var/cache/loupe":
            host = cache
        elif not os.path.exists(host):
            continue
        args += ["-v", "%s:%s%s" % (host, m["mountPath"],
                                    ":ro" if m.get("readOnly") else "")]
    return args, c["args"]


def test_kube_image_agent():
    """make image, then loupe agent inside a container with the
    DaemonSet's privileges and mounts: a podman container's failed kill()
    calls under its cgroup, name, pod and namespace, a host cgroup's
    under empty container labels, both exact."""
    from test_agent_builtin import _scrape
    from test_container import (RUNC, Container, _image, _kills, _podman,
                                _series)
    from common import (Cgroup, marker, on_cleanup, poll_until, read_text,
                        spawn, tmpdir)
    busybox = _image()     # skips without podman, runc or busybox-static
    repo = os.path.dirname(os.path.dirname(LOUPE))
    tag = "localhost/loupe-test-image:%s" % marker("run")
    on_cleanup(lambda: _podman("rmi", "-f", tag))
    # -o: the image of the binary under test, never a rebuild of it
    r = subprocess.run(["make", "-s", "-C", repo, "-o", "build/loupe",
                        "image", "IMAGE=" + tag], capture_output=True,
                       text=True, timeout=120)
    check(r.returncode == 0, "make image: %s" % short(r.stderr))
    check(_podman("image", "exists", tag).returncode == 0,
          "make image made no %s" % tag)

    ds = _objects()["DaemonSet"]
    flags, args = _podman_args(ds, tmpdir())
    check(("--by-container" in args), "the DaemonSet's args: %s" % args)
    args = [a for a in args if not a.startswith("--listen")]
    name = marker("lagent")
    on_cleanup(lambda: _podman("rm", "-f", "-t", "0", name))
    # the host's network only to reach the agent from here; the rest is
    # the DaemonSet's, plus a cgroup label to tell host cgroups apart
    r = _podman("--runtime", RUNC, "run", "-d", "--name", name,
                "--ulimit", "nofile=1024:1024",
                "--ulimit", "nproc=1024:1024", "--network", "host",
                *flags, tag, *args, "--listen=127.0.0.1:0",
                "--metrics", "syscalls", "--by-cgroup")
    check(r.returncode == 0, "podman run: %s" % short(r.stderr))
    listen = re.compile(r"listening on http://\S+ \(port (\d+)\)")
    logs = lambda: _podman("logs", name).stderr
    m = poll_until(lambda: listen.search(logs()) or "status=exited" in
                   _podman("ps", "-a", "--filter", "name=" + name,
                           "--format", "status={{.Status}}").stdout, 30)
    check(m and m is not True, "the agent did not start in its container: %s"
          % short(logs(), 600))
    port = int(m.group(1))

    a = Container(busybox, _kills(7), ["io.kubernetes.pod.name=web-5f",
                                       "io.kubernetes.pod.namespace=shop"])
    cg = Cgroup()
    host = spawn(["sh", "-c", _kills(5).replace("sleep 1000", "exit 0")],
                 preexec_fn=lambda: cg.add(os.getpid()))
    check(host.wait(10) == 0, "the host's kill loop failed")
    fam = "loupe_syscall_errors_total"
    want_a = dict(cgroup="/libpod_parent/libpod-" + a.id, container=a.name,
                  pod="web-5f", namespace="shop", syscall="kill",
                  errno="ESRCH")
    want_h = dict(cgroup=cg.rel, container="", pod="", namespace="",
                  syscall="kill", errno="ESRCH")
    ok = poll_until(lambda: _series(_scrape(port), fam, **want_a) == 7 and
                    _series(_scrape(port), fam, **want_h) == 5, 20)
    text = _scrape(port)
    check(ok, "in the agent's container: %s = %s, want 7; %s = %s, want 5"
          % (a.name, _series(text, fam, **want_a), cg.rel,
             _series(text, fam, **want_h)))
    # the agent ran as the DaemonSet has it: no capability effective
    check("CapEff 0000000000000000" in logs(), "capabilities: %s"
          % short(logs()))
    r = _podman("stop", "-t", "5", name)
    check(r.returncode == 0, "podman stop: %s" % short(r.stderr))
    check("stopping" in logs(), "the agent did not stop on SIGTERM: %s"
          % short(logs()))


test_kube_image_agent.timeout = 180


def _kube_job(*args):
    rc, out, err = run_quiet([LOUPE, "kube-job"] + list(args))
    check(rc == 0, "kube-job %s: %s %s" % (args, rc, short(err)))
    docs = [d for d in _yaml().safe_load_all(out) if d is not None]
    check([d["kind"] for d in docs] == ["ConfigMap", "Job"],
          "kube-job printed %s" % [d.get("kind") for d in docs])
    return docs


def test_kube_job():
    """loupe kube-job: a ConfigMap with the program as given and a Job
    running loupe trace on it on the node, for the pod, for the
    duration, cleaned up after; the pod has the DaemonSet's privileges
    and host mounts, no more."""
    require_loupe()
    prog = ('t:syscalls:sys_enter_openat /comm == "nginx"/ {\n'
            '\t@[str(args->filename)] = count();\n}\n')
    cm, job = _kube_job("-e", prog, "--node", "worker-1.example",
                        "--pod", "shop/web-5f7c9", "-d", "30")
    name = cm["metadata"]["name"]
    check(re.fullmatch(r"loupe-trace-[0-9a-f]{8}", name), "name %r" % name)
    check(cm["data"] == {"program.bt": prog}, "ConfigMap data %r" % cm["data"])
    check(job["metadata"]["name"] == name and
          job["metadata"]["namespace"] == cm["metadata"]["namespace"] ==
          "loupe", "names: %s %s" % (cm["metadata"], job["metadata"]))
    js = job["spec"]
    check(js["ttlSecondsAfterFinished"] > 0 and js["backoffLimit"] == 0,
          "clean-up: %s" % js)
    check(js["activeDeadlineSeconds"] > 30, "deadline %s" % js)
    spec = js["template"]["spec"]
    check(spec["nodeName"] == "worker-1.example" and spec["hostPID"] is True
          and spec["restartPolicy"] == "Never", "pod spec %s" % spec)
    check({"operator": "Exists"} in spec["tolerations"], "tolerations")
    (c,) = spec["containers"]
    check(c["args"] == ["trace", "--container", "shop/web-5f7c9",
                        "--duration", "30", "/program/program.bt"],
          "args %s" % c["args"])
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    check(vols[mounts["/program"]["name"]]["configMap"]["name"] == name,
          "the program's volume")
    # the DaemonSet's privileges and host mounts, exactly
    ds = _objects()["DaemonSet"]["spec"]["template"]["spec"]
    (dc,) = ds["containers"]
    check(c["securityContext"] == dc["securityContext"],
          "securityContext %s != the DaemonSet's %s"
          % (c["securityContext"], dc["securityContext"]))
    dvols = {v["name"]: v for v in ds["volumes"]}
    for m in dc["volumeMounts"]:
        got = mounts.get(m["mountPath"])
        check(got == m and vols[got["name"]] == dvols[m["name"]],
              "mount %s: %s, the DaemonSet's %s" % (m["mountPath"], got, m))
    check(len(mounts) == len(dc["volumeMounts"]) + 1, "extra mounts")

    # no pod, no duration: all of the node, until the program exits
    cm2, job2 = _kube_job("-e", "BEGIN { exit(); }", "--node", "n1")
    c2 = job2["spec"]["template"]["spec"]["containers"][0]
    check(c2["args"] == ["trace", "/program/program.bt"], "args %s" % c2["args"])
    check("activeDeadlineSeconds" not in job2["spec"], "a deadline without -d")
    check(cm2["metadata"]["name"] != name, "two jobs, one name")
    # text a literal block cannot hold is quoted, and comes back the same
    for odd in (" BEGIN { exit(); }", "BEGIN {\x01 }", "\n\nBEGIN {}\n\n\n"):
        (cm3, _) = _kube_job("-e", odd, "--node", "n1")
        got = cm3["data"]["program.bt"]
        check(got.rstrip("\n") == odd.rstrip("\n"), "%r came back %r" % (odd, got))


def test_kube_job_usage():
    require_loupe()
    for args, msg in (
            (["--node", "n1"], "-e PROGRAM is required"),
            (["-e", "BEGIN {}"], "--node NODE is required"),
            (["-e", "BEGIN {}", "--node", "Node_1"], "invalid --node 'Node_1'"),
            (["-e", "BEGIN {}", "--node", "n1", "--pod", "web"],
             "invalid --pod 'web'"),
            (["-e", "BEGIN {}", "--node", "n1", "--pod", "a/b/c"],
             "invalid --pod 'a/b/c'"),
            (["-e", "BEGIN {}", "--node", "n1", "-d", "0"], "invalid")):
        rc, out, err = run_quiet([LOUPE, "kube-job"] + args)
        check(rc == 2 and not out and len(err.strip().splitlines()) == 1 and
              msg in err, "kube-job %s: %s %r %r" % (args, rc, out, err))
