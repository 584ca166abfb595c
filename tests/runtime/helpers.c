/* Tiny helper for loupe runtime tests; compiled at test time by common.py.
 *
 *   helpers execveat DIR NAME [ARG...]   execveat(open(DIR), NAME, [NAME, ARG...])
 *   helpers openat2 PATH                 openat2(AT_FDCWD, PATH, {O_RDONLY|O_CLOEXEC})
 *   helpers open PATH                    legacy open(PATH, O_RDONLY) via SYS_open
 *   helpers creat PATH                   openat(AT_FDCWD, PATH, O_WRONLY|O_CREAT|O_CLOEXEC, 0600)
 *   helpers flood N PATH                 N x openat(PATH, O_RDONLY), as fast as possible
 *
 * open-like modes print "FD ERRNO" on stdout (FD -1 on failure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (!strcmp(mode, "flood") && argc >= 4) {
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++) {
			int fd = open(argv[3], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		return 0;
	}
	fprintf(stderr, "helpers: bad mode %s\n", mode);
	return 2;
}
