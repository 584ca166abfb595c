/*
 * mountsnoop: mount(), umount() and the new mount API calls, each shown
 * as the call it was (decoded flags, strings, result), like BCC's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mountsnoop.h"
#include "mountsnoop.skel.h"
#include "session.h"

enum { COL_COMM, COL_PID, COL_TID, COL_MNT_NS, COL_CALL };

static const struct out_col columns[] = {
	[COL_COMM] = { "COMM", -16 },
	[COL_PID] = { "PID", -7 },
	[COL_TID] = { "TID", -7 },
	[COL_MNT_NS] = { "MNT_NS", -11 },
	[COL_CALL] = { "CALL", 0 },
	{ NULL },
};

struct flag_name {
	unsigned long long bit;
	const char *name;
};

#define FLAGS_END { 0, NULL }

static const struct flag_name ms_flags[] = {
	{ 1ULL << 0, "MS_RDONLY" },	{ 1ULL << 1, "MS_NOSUID" },
	{ 1ULL << 2, "MS_NODEV" },	{ 1ULL << 3, "MS_NOEXEC" },
	{ 1ULL << 4, "MS_SYNCHRONOUS" }, { 1ULL << 5, "MS_REMOUNT" },
	{ 1ULL << 6, "MS_MANDLOCK" },	{ 1ULL << 7, "MS_DIRSYNC" },
	{ 1ULL << 8, "MS_NOSYMFOLLOW" }, { 1ULL << 10, "MS_NOATIME" },
	{ 1ULL << 11, "MS_NODIRATIME" }, { 1ULL << 12, "MS_BIND" },
	{ 1ULL << 13, "MS_MOVE" },	{ 1ULL << 14, "MS_REC" },
	{ 1ULL << 15, "MS_SILENT" },	{ 1ULL << 16, "MS_POSIXACL" },
	{ 1ULL << 17, "MS_UNBINDABLE" }, { 1ULL << 18, "MS_PRIVATE" },
	{ 1ULL << 19, "MS_SLAVE" },	{ 1ULL << 20, "MS_SHARED" },
	{ 1ULL << 21, "MS_RELATIME" },	{ 1ULL << 22, "MS_KERNMOUNT" },
	{ 1ULL << 23, "MS_I_VERSION" },	{ 1ULL << 24, "MS_STRICTATIME" },
	{ 1ULL << 25, "MS_LAZYTIME" },	{ 1ULL << 30, "MS_ACTIVE" },
	{ 1ULL << 31, "MS_NOUSER" },	FLAGS_END,
};

static const struct flag_name umount_flags[] = {
	{ 1, "MNT_FORCE" },	{ 2, "MNT_DETACH" },
	{ 4, "MNT_EXPIRE" },	{ 8, "UMOUNT_NOFOLLOW" },	FLAGS_END,
};

static const struct flag_name fsopen_flags[] = {
	{ 1, "FSOPEN_CLOEXEC" },	FLAGS_END,
};

static const struct flag_name fsmount_flags[] = {
	{ 1, "FSMOUNT_CLOEXEC" },	FLAGS_END,
};

/* MOUNT_ATTR_RELATIME is 0: the atime mode is a field, not a bit. */
static const struct flag_name mount_attrs[] = {
	{ 0x1, "MOUNT_ATTR_RDONLY" },	{ 0x2, "MOUNT_ATTR_NOSUID" },
	{ 0x4, "MOUNT_ATTR_NODEV" },	{ 0x8, "MOUNT_ATTR_NOEXEC" },
	{ 0x10, "MOUNT_ATTR_NOATIME" },
	{ 0x20, "MOUNT_ATTR_STRICTATIME" },
	{ 0x80, "MOUNT_ATTR_NODIRATIME" }, { 0x100000, "MOUNT_ATTR_IDMAP" },
	{ 0x200000, "MOUNT_ATTR_NOSYMFOLLOW" },	FLAGS_END,
};

static const struct flag_name move_mount_flags[] = {
	{ 0x1, "MOVE_MOUNT_F_SYMLINKS" },  { 0x2, "MOVE_MOUNT_F_AUTOMOUNTS" },
	{ 0x4, "MOVE_MOUNT_F_EMPTY_PATH" },
	{ 0x10, "MOVE_MOUNT_T_SYMLINKS" }, { 0x20, "MOVE_MOUNT_T_AUTOMOUNTS" },
	{ 0x40, "MOVE_MOUNT_T_EMPTY_PATH" },
	{ 0x100, "MOVE_MOUNT_SET_GROUP" }, { 0x200, "MOVE_MOUNT_BENEATH" },
	FLAGS_END,
};

static const struct flag_name open_tree_flags[] = {
	{ 0x1, "OPEN_TREE_CLONE" },	{ 02000000, "OPEN_TREE_CLOEXEC" },
	{ 0x100, "AT_SYMLINK_NOFOLLOW" }, { 0x800, "AT_NO_AUTOMOUNT" },
	{ 0x1000, "AT_EMPTY_PATH" },	{ 0x8000, "AT_RECURSIVE" },
	FLAGS_END,
};

static const struct flag_name fspick_flags[] = {
	{ 0x1, "FSPICK_CLOEXEC" },	{ 0x2, "FSPICK_SYMLINK_NOFOLLOW" },
	{ 0x4, "FSPICK_NO_AUTOMOUNT" },	{ 0x8, "FSPICK_EMPTY_PATH" },
	FLAGS_END,
};

static const struct flag_name at_flags[] = {
	{ 0x100, "AT_SYMLINK_NOFOLLOW" }, { 0x800, "AT_NO_AUTOMOUNT" },
	{ 0x1000, "AT_EMPTY_PATH" },	{ 0x8000, "AT_RECURSIVE" },
	FLAGS_END,
};

static const char *const fsconfig_cmds[] = {
	"FSCONFIG_SET_FLAG", "FSCONFIG_SET_STRING", "FSCONFIG_SET_BINARY",
	"FSCONFIG_SET_PATH", "FSCONFIG_SET_PATH_EMPTY", "FSCONFIG_SET_FD",
	"FSCONFIG_CMD_CREATE", "FSCONFIG_CMD_RECONFIGURE",
	"FSCONFIG_CMD_CREATE_EXCL",
};

static const char *const call_names[] = {
	[MOUNT_CALL_MOUNT] = "mount",
	[MOUNT_CALL_UMOUNT] = "umount",
	[MOUNT_CALL_FSOPEN] = "fsopen",
	[MOUNT_CALL_FSCONFIG] = "fsconfig",
	[MOUNT_CALL_FSMOUNT] = "fsmount",
	[MOUNT_CALL_MOVE_MOUNT] = "move_mount",
	[MOUNT_CALL_OPEN_TREE] = "open_tree",
	[MOUNT_CALL_FSPICK] = "fspick",
	[MOUNT_CALL_MOUNT_SETATTR] = "mount_setattr",
	[MOUNT_CALL_OPEN_TREE_ATTR] = "open_tree_attr",
};

/* "A|B|0x40", or "0" when no bit is set. */
static void flags_str(unsigned long long v, const struct flag_name *t,
		      char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; t->name && n < len; t++) {
		if ((v & t->bit) != t->bit)
			continue;
		n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "", t->name);
		v &= ~t->bit;
	}
	if (n < len && (v || !n))
		snprintf(buf + n, len - n, "%s%#llx", n ? "|" : "", v);
	if (!strcmp(buf, "0x0"))
		snprintf(buf, len, "0");
}

/*
 * mount(2) still accepts the historic magic number in the upper half of
 * flags; the kernel ignores it, and so does the decoded text.
 */
static unsigned long long ms_strip_magic(unsigned long long flags)
{
	if ((flags & 0xffff0000ULL) == 0xc0ed0000ULL)
		flags &= 0xffff;
	return flags;
}

static void dfd_str(long long dfd, char *buf, size_t len)
{
	if ((int)dfd == -100)
		snprintf(buf, len, "AT_FDCWD");
	else
		snprintf(buf, len, "%d", (int)dfd);
}

/*
 * A string argument as C source would show it, NULL for no pointer; as
 * strace shows them, "..."... when cut and the address when unreadable.
 */
static void qstr(struct out_buf *b, const struct mount_event *e, int slot,
		 int arg)
{
	__u32 state = e->str_state[slot];

	if (!e->args[arg]) {
		out_buf_printf(b, "NULL");
		return;
	}
	if (state & USTR_UNREAD) {
		out_buf_printf(b, "%#llx", (unsigned long long)e->args[arg]);
		return;
	}
	out_buf_printf(b, "\"%.*s\"%s", MOUNT_STR_SIZE, e->str[slot],
		       state & USTR_TRUNCATED ? "..." : "");
}

/* A string argument in JSON: null for no pointer, else with its state. */
static void json_str(struct out *o, const char *key,
		     const struct mount_event *e, int slot, int arg)
{
	if (!e->args[arg]) {
		out_null(o, key);
		return;
	}
	out_ustr(o, OUT_JSON_ONLY, key, e->str[slot], MOUNT_STR_SIZE,
		 e->str_state[slot]);
}

static void ret_str(struct out_buf *b, long long ret)
{
	const char *name = ret < 0 ? strerrorname_np((int)-ret) : NULL;

	if (name)
		out_buf_printf(b, " = -%s", name);
	else
		out_buf_printf(b, " = %lld", ret);
}

static void attr_str(struct out_buf *b, const struct mount_event *e)
{
	char set[256], clr[256], prop[128];

	if (!e->has_attr) {
		out_buf_printf(b, "%s", e->args[3] ? "{...}" : "NULL");
		return;
	}
	flags_str(e->attr[0], mount_attrs, set, sizeof(set));
	flags_str(e->attr[1], mount_attrs, clr, sizeof(clr));
	flags_str(e->attr[2], ms_flags, prop, sizeof(prop));
	out_buf_printf(b, "{attr_set=%s, attr_clr=%s, propagation=%s, userns_fd=%llu}",
		       set, clr, prop, (unsigned long long)e->attr[3]);
}

/* The CALL column and the JSON fields of one call. */
static void render(struct out *o, const struct mount_event *e,
		   struct out_buf *b)
{
	const unsigned long long *a = e->args;
	char f[512], g[512], d1[16], d2[16];
	const char *cmd;

	b->len = 0;
	out_buf_printf(b, "%s(", call_names[e->call]);
	switch (e->call) {
	case MOUNT_CALL_MOUNT:
		flags_str(ms_strip_magic(a[3]), ms_flags, f, sizeof(f));
		qstr(b, e, 0, 0);
		out_buf_printf(b, ", ");
		qstr(b, e, 1, 1);
		out_buf_printf(b, ", ");
		qstr(b, e, 2, 2);
		out_buf_printf(b, ", %s, ", f);
		qstr(b, e, 3, 4);
		json_str(o, "source", e, 0, 0);
		json_str(o, "target", e, 1, 1);
		json_str(o, "fstype", e, 2, 2);
		json_str(o, "data", e, 3, 4);
		out_uint(o, OUT_JSON_ONLY, "flags", a[3]);
		out_str(o, OUT_JSON_ONLY, "flags_str", f);
		break;
	case MOUNT_CALL_UMOUNT:
		flags_str(a[1] & 0xffffffff, umount_flags, f, sizeof(f));
		qstr(b, e, 0, 0);
		out_buf_printf(b, ", %s", f);
		json_str(o, "target", e, 0, 0);
		out_uint(o, OUT_JSON_ONLY, "flags", a[1] & 0xffffffff);
		out_str(o, OUT_JSON_ONLY, "flags_str", f);
		break;
	case MOUNT_CALL_FSOPEN:
		flags_str(a[1] & 0xffffffff, fsopen_flags, f, sizeof(f));
		qstr(b, e, 0, 0);
		out_buf_printf(b, ", %s", f);
		json_str(o, "fs_name", e, 0, 0);
		out_uint(o, OUT_JSON_ONLY, "flags", a[1] & 0xffffffff);
		out_str(o, OUT_JSON_ONLY, "flags_str", f);
		break;
	case MOUNT_CALL_FSCONFIG: {
		unsigned int c = a[1];
		bool strval = c == 1 || c == 3 || c == 4;

		cmd = c < sizeof(fsconfig_cmds) / sizeof(fsconfig_cmds[0]) ?
		      fsconfig_cmds[c] : NULL;
		out_buf_printf(b, "%d, ", (int)a[0]);
		if (cmd)
			out_buf_printf(b, "%s, ", cmd);
		else
			out_buf_printf(b, "%u, ", c);
		qstr(b, e, 0, 2);
		out_buf_printf(b, ", ");
		if (strval || !a[3])
			qstr(b, e, 1, 3);
		else
			out_buf_printf(b, "%#llx", a[3]);
		out_buf_printf(b, ", %d", (int)a[4]);
		out_int(o, OUT_JSON_ONLY, "fd", (int)a[0]);
		out_uint(o, OUT_JSON_ONLY, "cmd", c);
		out_str(o, OUT_JSON_ONLY, "cmd_name", cmd);
		json_str(o, "key", e, 0, 2);
		if (strval)
			json_str(o, "value", e, 1, 3);
		else
			out_null(o, "value");
		out_int(o, OUT_JSON_ONLY, "aux", (int)a[4]);
		break;
	}
	case MOUNT_CALL_FSMOUNT:
		flags_str(a[1] & 0xffffffff, fsmount_flags, f, sizeof(f));
		flags_str(a[2] & 0xffffffff, mount_attrs, g, sizeof(g));
		out_buf_printf(b, "%d, %s, %s", (int)a[0], f, g);
		out_int(o, OUT_JSON_ONLY, "fd", (int)a[0]);
		out_uint(o, OUT_JSON_ONLY, "flags", a[1] & 0xffffffff);
		out_str(o, OUT_JSON_ONLY, "flags_str", f);
		out_uint(o, OUT_JSON_ONLY, "attr_flags", a[2] & 0xffffffff);
		out_str(o, OUT_JSON_ONLY, "attr_flags_str", g);
		break;
	case MOUNT_CALL_MOVE_MOUNT:
		flags_str(a[4] & 0xffffffff, move_mount_flags, f, sizeof(f));
		dfd_str(a[0], d1, sizeof(d1));
		dfd_str(a[2], d2, sizeof(d2));
		out_buf_printf(b, "%s, ", d1);
		qstr(b, e, 0, 1);
		out_buf_printf(b, ", %s, ", d2);
		qstr(b, e, 1, 3);
		out_buf_printf(b, ", %s", f);
		out_int(o, OUT_JSON_ONLY, "from_dfd", (int)a[0]);
		json_str(o, "from_path", e, 0, 1);
		out_int(o, OUT_JSON_ONLY, "to_dfd", (int)a[2]);
		json_str(o, "to_path", e, 1, 3);
		out_uint(o, OUT_JSON_ONLY, "flags", a[4] & 0xffffffff);
		out_str(o, OUT_JSON_ONLY, "flags_str", f);
		break;
	case MOUNT_CALL_OPEN_TREE:
	case MOUNT_CALL_FSPICK:
	case MOUNT_CALL_MOUNT_SETATTR:
	case MOUNT_CALL_OPEN_TREE_ATTR:
		flags_str(a[2] & 0xffffffff,
			  e->call == MOUNT_CALL_FSPICK ? fspick_flags :
			  e->call == MOUNT_CALL_MOUNT_SETATTR ? at_flags :
			  open_tree_flags, f, sizeof(f));
		dfd_str(a[0], d1, sizeof(d1));
		out_buf_printf(b, "%s, ", d1);
		qstr(b, e, 0, 1);
		out_buf_printf(b, ", %s", f);
		out_int(o, OUT_JSON_ONLY, "dfd", (int)a[0]);
		json_str(o, "path", e, 0, 1);
		out_uint(o, OUT_JSON_ONLY, "flags", a[2] & 0xffffffff);
		out_str(o, OUT_JSON_ONLY, "flags_str", f);
		if (e->call != MOUNT_CALL_MOUNT_SETATTR &&
		    e->call != MOUNT_CALL_OPEN_TREE_ATTR)
			break;
		out_buf_printf(b, ", ");
		attr_str(b, e);
		out_buf_printf(b, ", %llu", a[4]);
		if (!o->json)
			break;
		if (!e->has_attr) {
			out_null(o, "attr");
			break;
		}
		out_obj_begin(o, "attr");
		out_uint(o, OUT_JSON_ONLY, "attr_set", e->attr[0]);
		out_uint(o, OUT_JSON_ONLY, "attr_clr", e->attr[1]);
		out_uint(o, OUT_JSON_ONLY, "propagation", e->attr[2]);
		out_uint(o, OUT_JSON_ONLY, "userns_fd", e->attr[3]);
		out_obj_end(o);
		break;
	}
	out_buf_printf(b, ")");
	ret_str(b, e->ret);
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct mount_event *e = data;
	struct out *o = &s->out;
	struct out_buf *call = s->tool_state;

	if (size < sizeof(*e) || e->call >= MOUNT_CALL_MAX)
		return 0;
	session_event_begin(s, "mount", &e->hdr);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_int(o, COL_TID, NULL, e->hdr.tid);
	out_uint(o, COL_MNT_NS, "mnt_ns", e->mnt_ns);
	out_str(o, OUT_JSON_ONLY, "call", call_names[e->call]);
	out_int(o, OUT_JSON_ONLY, "ret", e->ret);
	render(o, e, call);
	out_strn(o, COL_CALL, NULL, call->data, call->len);
	out_end(o);
	return 0;
}

static struct out_buf call;

static int mountsnoop_prepare(struct session *s, void *skel)
{
	(void)skel;
	s->tool_state = &call;
	return 0;
}

static int mountsnoop_cleanup(struct session *s, int err)
{
	(void)s;
	free(call.data);
	return err;
}

static const struct hook_probe mountsnoop_probes[] = {
	{ "mount, umount", {
		{ { "mount_enter", "mount_exit", "umount_enter",
		    "umount_exit" } },
	} },
	{ "new mount API", {
		{ { "?fsopen_enter", "?fsopen_exit", "?fsconfig_enter",
		    "?fsconfig_exit", "?fsmount_enter", "?fsmount_exit",
		    "?move_mount_enter", "?move_mount_exit" } },
	} },
	{ "tree, attrs", {
		{ { "?open_tree_enter", "?open_tree_exit", "?fspick_enter",
		    "?fspick_exit", "?mount_setattr_enter",
		    "?mount_setattr_exit", "?open_tree_attr_enter",
		    "?open_tree_attr_exit" } },
	} },
	{ NULL },
};

TOOL_SKEL(mountsnoop);

static const struct tool mountsnoop_tool = {
	.name = "mountsnoop",
	.summary = "Trace mount, umount and the new mount API (fsopen, fsmount, ...)",
	.examples =
		"  loupe mountsnoop             # every mount-related call\n"
		"  loupe mountsnoop -x          # only failed calls\n"
		"  loupe mountsnoop -j          # as JSON, one field per argument\n",
	.common = OPT_SNOOP | OPT_FAILED,
	.failed_help = "only failed calls",
	.probes = mountsnoop_probes,
	.skel = &mountsnoop_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = mountsnoop_prepare,
	.cleanup = mountsnoop_cleanup,
};
TOOL_REGISTER(mountsnoop_tool);
