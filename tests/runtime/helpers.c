/* Tiny helper for loupe runtime tests; compiled at test time by common.py.
 *
 *   helpers execveat DIR NAME [ARG...]   execveat(open(DIR), NAME, [NAME, ARG...])
 *   helpers openat2 PATH                 openat2(AT_FDCWD, PATH, {O_RDONLY|O_CLOEXEC})
 *   helpers open PATH                    legacy open(PATH, O_RDONLY) via SYS_open
 *   helpers creat PATH                   openat(AT_FDCWD, PATH, O_WRONLY|O_CREAT|O_CLOEXEC, 0600)
 *   helpers flood N PATH                 N x openat(PATH, O_RDONLY), as fast as possible
 *   helpers exec-unpaged same|apart PATH [ARG...]
 *        execve(PATH, [PATH, ARG...], []) with the ARG strings (and with
 *        "same" PATH too, in the same page) in a file mapping nobody has
 *        touched, so that a BPF read at syscall entry faults. If the exec
 *        fails: prints "err ERRNO PRESENT", PRESENT 1 if the page holding
 *        the ARGs has been faulted in since (by the kernel reading them).
 *   helpers gai-unpaged NAME
 *        with NAME in an untouched file mapping, prints "ready", waits for
 *        a line on stdin, calls getaddrinfo(NAME), prints "done" or
 *        "err CODE", and again for each line.
 *   helpers pagewrite PATH PAGES         create PATH, print "ready", wait for a line on
 *                                        stdin, write PAGES 4 KB pages in writes of up to
 *                                        1 MB, fsync, drop them from the page cache
 *                                        (POSIX_FADV_DONTNEED), print "done"
 *   helpers pageread PATH                open PATH with O_NOATIME (no inode update), load
 *                                        its extent map (FIEMAP), print "ready", wait for
 *                                        a line on stdin, read it to the end in 64 KB
 *                                        reads, print the bytes read
 *
 * open-like modes print "FD ERRNO" on stdout (FD -1 on failure). The
 * unpaged modes exit 3 if the page was resident beforehand (the test
 * would then prove nothing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int report(long fd)
{
	int err = fd < 0 ? errno : 0;
	printf("%ld %d\n", fd < 0 ? -1L : fd, err);
	fflush(stdout);
	if (fd >= 0)
		close((int)fd);
	return 0;
}

/* Whether the page holding p is mapped in (/proc/self/pagemap bit 63). */
static int page_present(const void *p)
{
	long psize = sysconf(_SC_PAGESIZE);
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || pread(fd, &entry, sizeof(entry),
			    (uintptr_t)p / psize * sizeof(entry)) !=
			  sizeof(entry)) {
		perror("pagemap");
		exit(127);
	}
	close(fd);
	return (int)(entry >> 63);
}

/*
 * Two pages of a memfd mapped read-only, the n strings strs[] one after
 * the other from the start of page `page`; returns the mapping. write()
 * fills the page cache without mapping anything, so the first access to
 * the mapping faults.
 */
static char *unpaged_map(char *const *strs, int n, int page)
{
	long psize = sysconf(_SC_PAGESIZE);
	char *buf = calloc(2, psize), *m;
	size_t off = page * psize;
	int fd = memfd_create("loupe-unpaged", MFD_CLOEXEC);

	if (!buf || fd < 0) {
		perror("memfd");
		exit(127);
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(strs[i]) + 1;

		if (off + len > (size_t)(page + 1) * psize) {
			fprintf(stderr, "helpers: strings too long\n");
			exit(2);
		}
		memcpy(buf + off, strs[i], len);
		off += len;
	}
	if (write(fd, buf, 2 * psize) != 2 * psize) {
		perror("write");
		exit(127);
	}
	m = mmap(NULL, 2 * psize, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(127);
	}
	close(fd);
	free(buf);
	if (page_present(m) || page_present(m + psize)) {
		fprintf(stderr, "helpers: fresh mapping already resident\n");
		exit(3);
	}
	return m;
}

/* exec-unpaged same|apart PATH [ARG...] */
static int exec_unpaged(int argc, char **argv)
{
	int same = !strcmp(argv[2], "same"), nargs = argc - 4, err;
	char **nargv = calloc(nargs + 2, sizeof(char *));
	char *m, *p;

	if (!nargv)
		return 127;
	/* same: "PATH\0ARG\0..." in page 0; apart: "ARG\0..." in page 1. */
	if (same)
		m = unpaged_map(&argv[3], nargs + 1, 0);
	else
		m = unpaged_map(&argv[4], nargs, 1);
	p = same ? m : m + sysconf(_SC_PAGESIZE);
	/* Offsets from the originals: reading the mapping would fault it. */
	nargv[0] = argv[3];
	if (same) {
		nargv[0] = p;
		p += strlen(argv[3]) + 1;
	}
	for (int i = 0; i < nargs; i++) {
		nargv[1 + i] = p;
		p += strlen(argv[4 + i]) + 1;
	}
	execve(nargv[0], nargv, (char *[]){ NULL });
	err = errno;
	printf("err %d %d\n", err, page_present(nargv[1] ? nargv[1] : m));
	return 0;
}

/* gai-unpaged NAME */
static int gai_unpaged(char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char *name = unpaged_map(&argv[2], 1, 1) + sysconf(_SC_PAGESIZE);
	char line[16];
	int rc;

	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		rc = getaddrinfo(name, NULL, &hints, &res);
		if (rc) {
			printf("err %d\n", rc);
		} else {
			freeaddrinfo(res);
			printf("done\n");
		}
		fflush(stdout);
	}
	return 0;
}

/*
 * The page-cache modes do nothing but the I/O between "ready" and their
 * last line, so a tool filtering on their pid sees only that I/O.
 */
static void wait_go(void)
{
	char line[16];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(4);
}

static int page_write(const char *path, size_t pages)
{
	static char buf[1 << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		perror("open");
		return 1;
	}
	memset(buf, 'p', sizeof(buf));
	wait_go();
	for (size_t left = pages * 4096; left > 0;) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w <= 0) {
			perror("write");
			return 1;
		}
		left -= w;
	}
	if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) {
		perror("fsync/fadvise");
		return 1;
	}
	close(fd);
	printf("done\n");
	fflush(stdout);
	return 0;
}

static int page_read(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC);
	struct fiemap map = { .fm_length = FIEMAP_MAX_OFFSET };
	int64_t total = 0;
	ssize_t n;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	/*
	 * Walking the extent map reads any extent-tree block of the file
	 * now, so that the reads below add nothing but the file's pages.
	 */
	if (ioctl(fd, FS_IOC_FIEMAP, &map))
		perror("fiemap");
	wait_go();
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0) {
		perror("read");
		return 1;
	}
	close(fd);
	printf("%lld\n", (long long)total);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: helpers MODE ARGS...\n");
		return 2;
	}
	const char *mode = argv[1];

	if (!strcmp(mode, "execveat") && argc >= 4) {
		int dfd = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			perror("open dir");
			return 127;
		}
		char **nargv = &argv[3]; /* NAME ARG... NULL */
		syscall(SYS_execveat, dfd, argv[3], nargv, environ, 0);
		perror("execveat");
		return 127;
	}
	if (!strcmp(mode, "openat2")) {
		struct open_how how;
		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY | O_CLOEXEC;
		return report(syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how)));
	}
	if (!strcmp(mode, "open")) {
#ifdef SYS_open
		return report(syscall(SYS_open, argv[2], O_RDONLY));
#else
		fprintf(stderr, "no SYS_open on this arch\n");
		return 3;
#endif
	}
	if (!strcmp(mode, "creat"))
		return report(syscall(SYS_openat, AT_FDCWD, argv[2],
				      O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	if (!strcmp(mode, "exec-unpaged") && argc >= 4 &&
	    (!strcmp(argv[2], "same") || !strcmp(argv[2], "apart")))
		return exec_unpaged(argc, argv);
	if (!strcmp(mode, "gai-unpaged"))
		return gai_unpaged(argv);
	if (!strcmp(mode, "flood") && argc >= 4) {
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++) {
			int fd = open(argv[3], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		return 0;
	}
	if (!strcmp(mode, "pagewrite") && argc >= 4)
		return page_write(argv[2], strtoul(argv[3], NULL, 10));
	if (!strcmp(mode, "pageread"))
		return page_read(argv[2]);
	fprintf(stderr, "helpers: bad mode %s\n", mode);
	return 2;
}
