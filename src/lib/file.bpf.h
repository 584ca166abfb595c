/*
 * Kernel-side helpers for the file tools (statsnoop, filelife, fsslower,
 * filetop, vfsstat): from a file descriptor of the current task to its
 * struct file, and from there to what the tools report (name, type of
 * filesystem, position, whether an open created the file). Everything is
 * read through BTF/CO-RE, so it works from plain syscall tracepoints on
 * kernels without kprobes. Include after loupe.bpf.h.
 */
#ifndef LOUPE_FILE_BPF_H
#define LOUPE_FILE_BPF_H

#define FILE_FSTYPE_LEN	16
#define FILE_NAME_LEN	64

/* fmode_t bits are macros, absent from BTF; stable since Linux 4.19. */
#define FILE_FMODE_CREATED	0x100000

#define FILE_S_IFMT	00170000
#define FILE_S_IFREG	0100000
#define FILE_S_IFDIR	0040000
#define FILE_S_IFSOCK	0140000

/* The open file behind fd in the current task, NULL if there is none. */
static __always_inline struct file *file_from_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;
	unsigned int max;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

static __always_inline __u32 file_mode(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_mode);
}

static __always_inline bool file_is_regular(struct file *f)
{
	return (file_mode(f) & FILE_S_IFMT) == FILE_S_IFREG;
}

/* The last path component the file was opened as (its dentry's name). */
static __always_inline void file_name(struct file *f, char *buf, __u32 size)
{
	const unsigned char *name = BPF_CORE_READ(f, f_path.dentry,
						  d_name.name);

	if (bpf_probe_read_kernel_str(buf, size, name) < 0)
		buf[0] = '\0';
}

/* The name of the filesystem type from the superblock, e.g. "ext4". */
static __always_inline void file_fstype(struct file *f, char *buf,
					__u32 size)
{
	const char *name = BPF_CORE_READ(f, f_inode, i_sb, s_type, name);

	if (bpf_probe_read_kernel_str(buf, size, name) < 0)
		buf[0] = '\0';
}

/* Whether the file's filesystem type is want (empty want: any). */
static __always_inline bool file_fstype_is(struct file *f,
					   const volatile char *want)
{
	char type[FILE_FSTYPE_LEN];

	if (!want[0])
		return true;
	file_fstype(f, type, sizeof(type));
	for (int i = 0; i < FILE_FSTYPE_LEN; i++) {
		if (type[i] != want[i])
			return false;
		if (!type[i])
			break;
	}
	return true;
}

/* Whether the open that returned this file created it (O_CREAT did). */
static __always_inline bool file_was_created(struct file *f)
{
	return BPF_CORE_READ(f, f_mode) & FILE_FMODE_CREATED;
}

#endif
