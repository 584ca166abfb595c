/* Opening libmicrohttpd at run time (why: mhd.h) and finding its calls. */
#include <dlfcn.h>
#include <stddef.h>
#include "log.h"
#include "mhd.h"

#define MHD_SONAME "libmicrohttpd.so.12"

struct mhd_api mhd;

static const struct {
	const char *name;
	size_t offset;
} mhd_calls[] = {
#define MHD_CALL(field) { "MHD_" #field, offsetof(struct mhd_api, field) }
	MHD_CALL(start_daemon),
	MHD_CALL(stop_daemon),
	MHD_CALL(is_feature_supported),
	MHD_CALL(create_response_from_buffer),
	MHD_CALL(add_response_header),
	MHD_CALL(queue_response),
	MHD_CALL(destroy_response),
	MHD_CALL(lookup_connection_value),
	MHD_CALL(basic_auth_get_username_password),
	MHD_CALL(queue_basic_auth_fail_response),
	MHD_CALL(free),
	MHD_CALL(suspend_connection),
	MHD_CALL(resume_connection),
#undef MHD_CALL
};

int mhd_load(void)
{
	static void *lib;
	size_t i;

	if (lib)
		return 0;
	lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_err("cannot open %s (apt-get install libmicrohttpd12): %s",
			MHD_SONAME, dlerror());
		return -1;
	}
	for (i = 0; i < sizeof(mhd_calls) / sizeof(mhd_calls[0]); i++) {
		void *fn = dlsym(lib, mhd_calls[i].name);

		if (!fn) {
			log_err("%s has no %s: a libmicrohttpd older than 0.9.75?",
				MHD_SONAME, mhd_calls[i].name);
			dlclose(lib);
			lib = NULL;
			return -1;
		}
		*(void **)((char *)&mhd + mhd_calls[i].offset) = fn;
	}
	return 0;
}
