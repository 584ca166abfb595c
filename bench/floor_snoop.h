/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FLOOR_SNOOP_H
#define FLOOR_SNOOP_H

#define FS_COMM_LEN 16
#define FS_PATH_LEN 256

struct fs_event {
	__u32 pid;
	char comm[FS_COMM_LEN];
	char path[FS_PATH_LEN];
};

#endif
