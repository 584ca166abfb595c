/*
 * Unit tests of container.c: the cgroup path shapes of every runtime and
 * cgroup driver, and names read from runtime state files in a fixture
 * tree laid out as each runtime lays out its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "container.h"
#include "json.h"
#include "unit.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "8f9a2c1e-4b7d-4e1a-9c3f-2d6e8b0a1f47"
#define UID_ "8f9a2c1e_4b7d_4e1a_9c3f_2d6e8b0a1f47"

static const struct {
	const char *path;
	enum container_runtime runtime;	/* -1: no container */
	const char *pod_uid;
} paths[] = {
	/* docker: systemd and cgroupfs drivers */
	{ "/system.slice/docker-" ID ".scope", CONTAINER_DOCKER, "" },
	{ "/docker/" ID, CONTAINER_DOCKER, "" },
	/* podman: systemd driver, cgroupfs (as here), cgroupns subgroup */
	{ "/machine.slice/libpod-" ID ".scope", CONTAINER_PODMAN, "" },
	{ "/libpod_parent/libpod-" ID, CONTAINER_PODMAN, "" },
	{ "/machine.slice/libpod-" ID ".scope/container", CONTAINER_PODMAN,
	  "" },
	/* Kubernetes, systemd driver: QoS slices, pod UID with '_' */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
	  UID_ ".slice/cri-containerd-" ID ".scope", CONTAINER_CONTAINERD,
	  UID },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
	  UID_ ".slice/crio-" ID ".scope", CONTAINER_CRIO, UID },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID ".scope",
	  CONTAINER_DOCKER, UID },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
	  UID_ ".slice:cri-containerd:" ID, CONTAINER_CONTAINERD, UID },
	/* Kubernetes, cgroupfs driver: the id alone, runtime unknown */
	{ "/kubepods/burstable/pod" UID "/" ID, CONTAINER_UNKNOWN, UID },
	{ "/kubepods/pod" UID "/" ID, CONTAINER_UNKNOWN, UID },
	/* not containers */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
	  UID_ ".slice", -1, NULL },
	{ "/machine.slice/libpod-conmon-" ID ".scope", -1, NULL },
	{ "/system.slice/crio-conmon-" ID ".scope", -1, NULL },
	{ "/user.slice/user-0.slice/session-2.scope", -1, NULL },
	{ "/" ID, -1, NULL },
	{ "/docker/" ID "a", -1, NULL },
	{ "/system.slice/docker-" ID ".scopex", -1, NULL },
	{ "/", -1, NULL },
	{ "", -1, NULL },
};

static void test_paths(void)
{
	struct container_ref ref;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		bool found = container_parse_path(paths[i].path, &ref);

		if (found != ((int)paths[i].runtime >= 0))
			printf("  path %s\n", paths[i].path);
		CHECK(found == ((int)paths[i].runtime >= 0));
		if (!found)
			continue;
		CHECK_STR(ref.id, ID);
		CHECK(ref.runtime == paths[i].runtime);
		CHECK_STR(ref.pod_uid, paths[i].pod_uid);
	}
	CHECK(!container_parse_path(NULL, &ref));
	/* the innermost of two ids wins */
	CHECK(container_parse_path("/docker/" ID "/docker/"
				   "fedcba9876543210fedcba9876543210"
				   "fedcba9876543210fedcba9876543210", &ref));
	CHECK_STR(ref.id, "fedcba9876543210fedcba9876543210"
		  "fedcba9876543210fedcba9876543210");
	CHECK_STR(container_runtime_name(CONTAINER_CRIO), "cri-o");
}

/* A container's cgroup cut to its pod's, as --container NS/POD does. */
static void test_pod_cgroup(void)
{
	static const struct {
		const char *path, *pod;
	} cases[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  UID_ ".slice/cri-containerd-" ID ".scope",
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  UID_ ".slice" },
		{ "/sys/fs/cgroup/kubepods.slice/kubepods-pod" UID_
		  ".slice/docker-" ID ".scope",
		  "/sys/fs/cgroup/kubepods.slice/kubepods-pod" UID_ ".slice" },
		{ "/kubepods/burstable/pod" UID "/" ID,
		  "/kubepods/burstable/pod" UID },
		{ "/kubepods/pod" UID "/" ID, "/kubepods/pod" UID },
		/* no cgroup of the pod's own: the container's */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  UID_ ".slice:cri-containerd:" ID,
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  UID_ ".slice:cri-containerd:" ID },
		{ "/libpod_parent/libpod-" ID, "/libpod_parent/libpod-" ID },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct container_ref ref;
		char dir[512];

		CHECK(container_parse_path(cases[i].path, &ref));
		snprintf(dir, sizeof(dir), "%s", cases[i].path);
		container_pod_cgroup(&ref, dir);
		CHECK_STR(dir, cases[i].pod);
	}
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	CHECK(system(cmd) == 0);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void names_of(const char *path, struct container_info *info)
{
	struct container_ref ref;

	CHECK(container_parse_path(path, &ref));
	container_read_names(&ref, info);
}

static void test_names(void)
{
	char root[] = "/tmp/loupe-unit-containerXXXXXX", cmd[128];
	struct container_info info;

	CHECK(mkdtemp(root) != NULL);
	put(root, "/var/lib/docker/containers/" ID "/config.v2.json",
	    "{\"Name\":\"/web\",\"Config\":{\"Image\":\"nginx:1.25\","
	    "\"Labels\":{}},\"State\":{\"Running\":true}}");
	put(root, "/run/containerd/io.containerd.runtime.v2.task/k8s.io/"
	    ID "/config.json",
	    "{\"ociVersion\":\"1.1.0\",\"annotations\":{"
	    "\"io.kubernetes.cri.container-name\":\"app\","
	    "\"io.kubernetes.cri.sandbox-name\":\"shop-7d9\","
	    "\"io.kubernetes.cri.sandbox-namespace\":\"prod\","
	    "\"io.kubernetes.cri.image-name\":\"reg/app:v2\"}}");
	put(root, "/var/lib/containers/storage/overlay-containers/"
	    "containers.json",
	    "[{\"id\":\"" ID "\",\"names\":[\"db\"],\"metadata\":"
	    "\"{\\\"image-name\\\":\\\"localhost/pg:15\\\"}\"}]");
	put(root, "/var/lib/containers/storage/overlay-containers/" ID
	    "/userdata/config.json",
	    "{\"annotations\":{\"io.kubernetes.pod.name\":\"p\\u00e9\","
	    "\"io.kubernetes.pod.namespace\":\"ns\"}}");
	container_set_state_root(root);

	names_of("/docker/" ID, &info);
	CHECK_STR(info.name, "web");
	CHECK_STR(info.image, "nginx:1.25");
	CHECK_STR(info.pod, "");

	names_of("/kubepods/burstable/pod" UID "/" ID, &info);
	/* unknown runtime from cgroupfs: found by its state (docker first) */
	CHECK(info.ref.runtime == CONTAINER_DOCKER);

	names_of("/k.slice/cri-containerd-" ID ".scope", &info);
	CHECK_STR(info.name, "app");
	CHECK_STR(info.pod, "shop-7d9");
	CHECK_STR(info.namespace, "prod");
	CHECK_STR(info.image, "reg/app:v2");

	names_of("/libpod_parent/libpod-" ID, &info);
	CHECK_STR(info.name, "db");
	CHECK_STR(info.image, "localhost/pg:15");
	CHECK_STR(info.pod, "p\xc3\xa9");
	CHECK_STR(info.namespace, "ns");

	/* a container whose state is gone keeps its id, names empty */
	names_of("/system.slice/crio-" ID ".scope", &info);
	CHECK_STR(info.ref.id, ID);
	CHECK_STR(info.name, "db");	/* CRI-O shares containers.json */

	container_set_state_root(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
	names_of("/system.slice/docker-" ID ".scope", &info);
	CHECK_STR(info.name, "");
	CHECK_STR(info.ref.id, ID);
}

static void test_json(void)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "\"\\x\"", "nul",
		"[1] 2", "\"a\nb\"",
	};
	const char *text = "{\"a\":[true,null,-1.5e3,\"x\\\"\"],\"b\":{}}";
	struct json *v = json_parse(text, strlen(text));

	CHECK(v != NULL);
	CHECK(json_index(json_get(v, "a"), 2)->type == JSON_NUMBER);
	CHECK_STR(json_index(json_get(v, "a"), 3)->str, "x\"");
	CHECK(json_index(json_get(v, "a"), 4) == NULL);
	CHECK(json_get(v, "b")->type == JSON_OBJECT);
	CHECK(json_get_str(v, "a") == NULL);
	json_free(v);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = json_parse(bad[i], strlen(bad[i]));
		if (v)
			printf("  parsed bad JSON %s\n", bad[i]);
		CHECK(v == NULL);
		json_free(v);
	}
}

const struct unit_test container_tests[] = {
	{ "container/paths", test_paths },
	{ "container/pod_cgroup", test_pod_cgroup },
	{ "container/names", test_names },
	{ "container/json", test_json },
	{ NULL },
};
UNIT_GROUP(container_tests)
