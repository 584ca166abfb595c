/* Unit tests of histogram rendering against BCC's layout. */
#include <stdlib.h>
#include "hist.h"
#include "unit.h"

static char *render(bool json, const uint64_t *slots, int n,
		    const struct hist_label *label)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	struct out o;

	out_init(&o, f, json, false, NULL);
	hist_print_log2(&o, "usecs", slots, n, label, 5);
	out_flush(&o);
	out_free(&o);
	fclose(f);
	return text;
}

static void test_log2_table(void)
{
	uint64_t slots[HIST_SLOTS] = { 1, 0, 4, 2 };
	char *text = render(false, slots, HIST_SLOTS, NULL);

	CHECK_STR(text,
		  "     usecs               : count    distribution\n"
		  "         0 -> 1          : 1        |**********                              |\n"
		  "         2 -> 3          : 0        |                                        |\n"
		  "         4 -> 7          : 4        |****************************************|\n"
		  "         8 -> 15         : 2        |********************                    |\n");
	free(text);
}

static void test_log2_json_and_label(void)
{
	uint64_t slots[HIST_SLOTS] = { 0, 3 };
	const struct hist_label disk = { "disk", "sda" };
	char *text = render(true, slots, HIST_SLOTS, &disk);

	CHECK_STR(text,
		  "{\"type\":\"hist\",\"ts_ns\":5,\"scale\":\"log2\","
		  "\"unit\":\"usecs\",\"disk\":\"sda\",\"buckets\":["
		  "{\"low\":0,\"high\":1,\"count\":0},"
		  "{\"low\":2,\"high\":3,\"count\":3}]}\n");
	free(text);
	text = render(false, slots, HIST_SLOTS, &disk);
	CHECK(!strncmp(text, "\ndisk = sda\n     usecs", 22));
	free(text);
}

static void test_empty(void)
{
	uint64_t slots[HIST_SLOTS] = { 0 };
	char *text = render(false, slots, HIST_SLOTS, NULL);

	CHECK(text && !text[0]);
	free(text);
}

static void test_task_caption(void)
{
	uint64_t slots[HIST_SLOTS] = { 2 };
	char *text = NULL;
	size_t size = 0;
	struct out o;
	FILE *f;

	for (int json = 0; json < 2; json++) {
		f = open_memstream(&text, &size);
		out_init(&o, f, json, false, NULL);
		hist_print_log2_task(&o, "usecs", slots, HIST_SLOTS, "pid", 181,
				     "sleep", 5);
		out_flush(&o);
		out_free(&o);
		fclose(f);
		if (json)
			CHECK_STR(text,
				  "{\"type\":\"hist\",\"ts_ns\":5,\"scale\":\"log2\","
				  "\"unit\":\"usecs\",\"pid\":181,\"comm\":\"sleep\","
				  "\"buckets\":[{\"low\":0,\"high\":1,\"count\":2}]}\n");
		else
			CHECK(!strncmp(text, "\npid = 181 sleep\n     usecs", 27));
		free(text);
		text = NULL;
	}
}

const struct unit_test hist_tests[] = {
	{ "hist/log2_table", test_log2_table },
	{ "hist/log2_json_and_label", test_log2_json_and_label },
	{ "hist/empty", test_empty },
	{ "hist/task_caption", test_task_caption },
	{ NULL },
};
UNIT_GROUP(hist_tests)
