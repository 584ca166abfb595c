/*
 * The container (and Kubernetes pod) a cgroup belongs to: parsed from the
 * cgroup path, named from the runtime's state on disk.
 */
#ifndef LOUPE_CONTAINER_H
#define LOUPE_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTAINER_ID_LEN	64
#define CONTAINER_SHORT_ID	12

enum container_runtime {
	CONTAINER_UNKNOWN,	/* an id under a Kubernetes pod, no prefix */
	CONTAINER_DOCKER,
	CONTAINER_CONTAINERD,
	CONTAINER_CRIO,
	CONTAINER_PODMAN,
};

/* What a cgroup path alone says. */
struct container_ref {
	enum container_runtime runtime;
	char id[CONTAINER_ID_LEN + 1];
	char pod_uid[40];	/* Kubernetes pod UID, "" outside a pod */
};

/* What loupe prints about a container; "" for what is not known. */
struct container_info {
	struct container_ref ref;
	char name[128];
	char image[256];
	char pod[128];
	char namespace[128];
};

/* The innermost container in a cgroup path: false if there is none. */
bool container_parse_path(const char *cgroup_path,
			  struct container_ref *ref);
const char *container_runtime_name(enum container_runtime runtime);
/*
 * Fills in the names of ref's container from its runtime's state (a
 * runtime not known from the path is found by where its state is).
 */
void container_read_names(const struct container_ref *ref,
			  struct container_info *info);
/*
 * The container of a cgroup v2 id, copied into info: false on the host.
 * Cached (bounded); a container that has gone keeps what was read.
 */
bool container_of_cgroup(uint64_t cgroup_id, struct container_info *info);
/*
 * The cgroup v2 directory (absolute path) of the running container with
 * this name, id or id prefix, or of the Kubernetes pod NAMESPACE/POD (its
 * pod cgroup, holding all its containers): 0, -ENOENT, or -EEXIST when
 * the prefix names more than one container (or the pod has several and
 * no cgroup of its own).
 */
int container_find(const char *name_or_id, char *cgroup_dir, size_t len);
/*
 * dir, the cgroup of ref's container, cut to its pod's cgroup: the
 * container's parent when that is the pod's own (kubepods/QOS/podUID,
 * kubepods-QOS-podUID_.slice); unchanged for a container without one (a
 * pod in kubelet's "SLICE:RUNTIME:ID" notation, podman --annotation).
 */
void container_pod_cgroup(const struct container_ref *ref, char *dir);
/* Where runtime state is read, "" for "/" (unit tests use a fixture). */
void container_set_state_root(const char *root);

#endif
