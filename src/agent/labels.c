/*
 * Label values of key elements (metric.h). A stand-in until the built-in
 * metrics' labels.c lands: every kind is its decimal number.
 */
#include <stdio.h>
#include "metric.h"

void labels_format_int(enum label_kind kind, long long v, char *buf,
		       size_t len)
{
	(void)kind;
	snprintf(buf, len, "%lld", v);
}

const char *labels_kind_name(enum label_kind kind)
{
	static const char *const names[LABEL_KINDS] = {
		"auto", "syscall", "errno", "disk", "block_op", "cgroup",
		"softirq",
	};

	return kind < LABEL_KINDS ? names[kind] : "?";
}
