/*
 * loupe kube-job: a trace program as a Kubernetes ConfigMap and Job, for
 * `kubectl apply -f -` (what kubectl-trace does for bpftrace). The Job
 * runs `loupe trace` on one node with the privileges and host mounts of
 * the agent's DaemonSet (deploy/kubernetes/daemonset.yaml), optionally
 * only against one pod's containers, and is deleted some time after it
 * ends. No BPF here and no API call: it only prints YAML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "log.h"
#include "out.h"
#include "opts.h"
#include "session.h"
#include "tool.h"

#define KUBEJOB_IMAGE		"localhost/loupe:latest"
#define KUBEJOB_NAMESPACE	"loupe"
/* time to read `kubectl logs job/NAME` before the Job goes */
#define KUBEJOB_TTL		600
/* past the duration: pulling the image, loading, printing the maps */
#define KUBEJOB_GRACE		300

static const char *program;
static const char *node;
static const char *pod;		/* "NS/POD" */
static const char *image = KUBEJOB_IMAGE;
static const char *namespace = KUBEJOB_NAMESPACE;

enum {
	KEY_EXPR,
	KEY_NODE,
	KEY_POD,
	KEY_IMAGE,
	KEY_NAMESPACE,
};

static const struct tool_opt kubejob_opts[] = {
	[KEY_EXPR] = { "expr", 'e', "PROGRAM", "the trace program (loupe trace -e)" },
	[KEY_NODE] = { "node", 0, "NODE", "the node to run on (kubectl get nodes)" },
	[KEY_POD] = { "pod", 0, "NS/POD",
		      "only this pod's containers (loupe trace --container NS/POD)" },
	[KEY_IMAGE] = { "image", 0, "IMAGE",
			"loupe's image (default " KUBEJOB_IMAGE ", make image)" },
	[KEY_NAMESPACE] = { "namespace", 0, "NS",
			    "where the Job runs (default " KUBEJOB_NAMESPACE ")" },
	{ NULL },
};

/*
 * Kubernetes' names: a DNS-1123 label (namespaces; at most 63) or
 * subdomain (nodes, pods; dots too, at most 253): lower-case letters,
 * digits and '-', starting and ending with a letter or digit.
 */
static bool dns_name(const char *s, size_t len, bool dots, size_t max)
{
	if (!len || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && c != '-' && !(dots && c == '.'))
			return false;
		if (!alnum && (i == 0 || i == len - 1))
			return false;
	}
	return true;
}

static int bad(const char *flag, const char *val, const char *hint)
{
	log_err("invalid %s '%s': %s", flag, val, hint);
	return EXIT_USAGE;
}

static int kubejob_parse_opt(int index, const char *arg)
{
	const char *slash;

	switch (index) {
	case KEY_EXPR:
		if (!arg[0])
			return bad("--expr", arg, "expected a trace program");
		program = arg;
		return 0;
	case KEY_NODE:
		if (!dns_name(arg, strlen(arg), true, 253))
			return bad("--node", arg,
				   "expected a node name (lower-case letters, digits, '-' and '.')");
		node = arg;
		return 0;
	case KEY_POD:
		slash = strchr(arg, '/');
		if (!slash || !dns_name(arg, slash - arg, false, 63) ||
		    !dns_name(slash + 1, strlen(slash + 1), true, 253))
			return bad("--pod", arg,
				   "expected NAMESPACE/POD, e.g. default/web-5f7c9");
		pod = arg;
		return 0;
	case KEY_IMAGE:
		if (!arg[0] || strpbrk(arg, " \t\n\"\\"))
			return bad("--image", arg, "expected an image reference");
		image = arg;
		return 0;
	case KEY_NAMESPACE:
		if (!dns_name(arg, strlen(arg), false, 63))
			return bad("--namespace", arg,
				   "expected a namespace name (lower-case letters, digits and '-')");
		namespace = arg;
		return 0;
	}
	return EXIT_USAGE;
}

/*
 * Whether text can be a YAML literal block as it is: no control
 * characters but tab and newline (a block cannot escape them), and a
 * first line that does not start with a space (which would set the
 * block's indentation).
 */
static bool literal_ok(const char *text)
{
	if (text[0] == ' ' || text[0] == '\n')
		return false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
			return false;
	return true;
}

/* A YAML double-quoted scalar (JSON's escapes are YAML's too). */
static void put_quoted(struct out_buf *b, const char *s)
{
	out_buf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			out_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			out_buf_add(b, "\\n", 2);
		else if (*p == '\t')
			out_buf_add(b, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f)
			out_buf_printf(b, "\\x%02x", *p);
		else
			out_buf_add(b, (const char *)p, 1);
	}
	out_buf_add(b, "\"", 1);
}

/* The program as the value of a mapping key at indentation 2. */
static void put_program(struct out_buf *b, const char *text)
{
	size_t len = strlen(text);

	while (len && text[len - 1] == '\n')
		len--;
	if (!literal_ok(text) || !len) {
		put_quoted(b, text);
		out_buf_add(b, "\n", 1);
		return;
	}
	out_buf_add(b, "|\n", 2);
	for (size_t i = 0; i < len;) {
		size_t n = strcspn(text + i, "\n");

		if (n > len - i)
			n = len - i;
		if (n)
			out_buf_printf(b, "    %.*s\n", (int)n, text + i);
		else
			out_buf_add(b, "\n", 1);
		i += n + 1;
	}
}

static void put_labels(struct out_buf *b, const char *indent)
{
	out_buf_printf(b, "%slabels:\n"
		   "%s  app.kubernetes.io/name: loupe\n"
		   "%s  app.kubernetes.io/component: trace\n",
		indent, indent, indent);
}

/*
 * The host directories the trace needs, as the DaemonSet mounts them
 * (the test compares the two): name, host path, where, hostPath type.
 */
static const struct {
	const char *name, *host, *at, *type;
} host_mounts[] = {
	{ "cgroup", "/sys/fs/cgroup", "/sys/fs/cgroup", "Directory" },
	{ "btf", "/sys/kernel/btf", "/sys/kernel/btf", "Directory" },
	{ "tracing", "/sys/kernel/tracing", "/sys/kernel/tracing",
	  "Directory" },
	{ "proc", "/proc", "/host/proc", "Directory" },
	{ "containerd-state", "/run/containerd", "/run/containerd", "" },
	{ "containers-run", "/run/containers", "/run/containers", "" },
	{ "containers-lib", "/var/lib/containers", "/var/lib/containers", "" },
	{ "docker-containers", "/var/lib/docker/containers",
	  "/var/lib/docker/containers", "" },
};

#define NMOUNTS	(sizeof(host_mounts) / sizeof(host_mounts[0]))

static void put_job(struct out_buf *b, const char *name, double duration)
{
	out_buf_printf(b, "apiVersion: batch/v1\n"
		   "kind: Job\n"
		   "metadata:\n"
		   "  name: %s\n"
		   "  namespace: %s\n", name, namespace);
	put_labels(b, "  ");
	out_buf_printf(b, "spec:\n"
		   "  backoffLimit: 0\n"
		   "  ttlSecondsAfterFinished: %d\n", KUBEJOB_TTL);
	if (duration > 0)
		out_buf_printf(b, "  activeDeadlineSeconds: %lld\n",
			(long long)duration + 1 + KUBEJOB_GRACE);
	out_buf_printf(b, "  template:\n"
		   "    metadata:\n");
	put_labels(b, "      ");
	out_buf_printf(b, "    spec:\n"
		   "      restartPolicy: Never\n"
		   "      nodeName: \"%s\"\n"
		   "      hostPID: true\n"
		   "      tolerations:\n"
		   "        - operator: Exists\n"
		   "      containers:\n"
		   "        - name: trace\n"
		   "          image: \"%s\"\n"
		   "          imagePullPolicy: IfNotPresent\n"
		   "          args:\n"
		   "            - trace\n", node, image);
	if (pod)
		out_buf_printf(b, "            - --container\n"
			   "            - \"%s\"\n", pod);
	if (duration > 0)
		out_buf_printf(b, "            - --duration\n"
			   "            - \"%g\"\n", duration);
	out_buf_printf(b, "            - /program/program.bt\n"
		   "          securityContext:\n"
		   "            privileged: false\n"
		   "            allowPrivilegeEscalation: false\n"
		   "            readOnlyRootFilesystem: true\n"
		   "            seccompProfile:\n"
		   "              type: RuntimeDefault\n"
		   "            capabilities:\n"
		   "              drop: [\"ALL\"]\n"
		   "              add: [\"BPF\", \"PERFMON\", \"SYS_ADMIN\", \"DAC_READ_SEARCH\", \"SYS_PTRACE\", \"SYSLOG\"]\n"
		   "          volumeMounts:\n"
		   "            - name: program\n"
		   "              mountPath: /program\n"
		   "              readOnly: true\n");
	for (size_t i = 0; i < NMOUNTS; i++)
		out_buf_printf(b, "            - name: %s\n"
			   "              mountPath: %s\n"
			   "              readOnly: true\n",
			host_mounts[i].name, host_mounts[i].at);
	out_buf_printf(b, "            - name: cache\n"
		   "              mountPath: /var/cache/loupe\n"
		   "      volumes:\n"
		   "        - name: program\n"
		   "          configMap:\n"
		   "            name: %s\n", name);
	for (size_t i = 0; i < NMOUNTS; i++)
		out_buf_printf(b, "        - name: %s\n"
			   "          hostPath:\n"
			   "            path: %s\n"
			   "            type: \"%s\"\n",
			host_mounts[i].name, host_mounts[i].host,
			host_mounts[i].type);
	out_buf_printf(b, "        - name: cache\n"
		   "          hostPath:\n"
		   "            path: /var/cache/loupe\n"
		   "            type: DirectoryOrCreate\n");
}

static int kubejob_run(struct session *s)
{
	struct out_buf b = { 0 };
	unsigned int r = 0;
	struct out o;
	char name[64];
	bool failed;

	if (!program || !node) {
		log_err("%s is required: loupe kube-job -e PROGRAM --node NODE [--pod NS/POD] [-d SECONDS]",
			!program ? "-e PROGRAM" : "--node NODE");
		return EXIT_USAGE;
	}
	/* a name of its own per run, so that two jobs never collide */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
		log_err("cannot make a name: getrandom() failed");
		return EXIT_RUNTIME;
	}
	snprintf(name, sizeof(name), "loupe-trace-%08x", r);
	out_buf_printf(&b,
		       "# loupe trace on node %s%s%s; kubectl apply -f - this,\n"
		       "# then kubectl logs -n %s -f job/%s\n",
		       node, pod ? ", pod " : "", pod ? pod : "", namespace,
		       name);
	out_buf_printf(&b, "apiVersion: v1\n"
		       "kind: ConfigMap\n"
		       "metadata:\n"
		       "  name: %s\n"
		       "  namespace: %s\n", name, namespace);
	put_labels(&b, "  ");
	out_buf_printf(&b, "data:\n  program.bt: ");
	put_program(&b, program);
	out_buf_printf(&b, "---\n");
	put_job(&b, name, s->opts.duration);
	/* one document, written at once through the one writer */
	out_init(&o, stdout, false, false, NULL);
	out_text(&o, b.data);
	out_flush(&o);
	failed = o.failed;
	out_free(&o);
	free(b.data);
	if (failed) {
		log_err("cannot write to standard output");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static const struct tool kubejob_tool = {
	.name = "kube-job",
	.summary = "Print a Kubernetes Job running a trace program on a node",
	.examples =
		"  loupe kube-job -e 't:syscalls:sys_enter_openat { @[comm] = count(); }' --node worker-1 -d 30 | kubectl apply -f -\n"
		"  loupe kube-job -e 'u:/usr/sbin/nginx:ngx_http_process_request { @ = count(); }' --node worker-1 --pod shop/web-5f7c9 -d 60\n",
	.common = OPT_DURATION,
	.opts = kubejob_opts,
	.parse_opt = kubejob_parse_opt,
	.run = kubejob_run,
};
TOOL_REGISTER(kubejob_tool);
