/*
 * libmicrohttpd, opened when the agent starts serving. Linked in, it
 * would map GnuTLS and the seven libraries under it into every loupe
 * command (3 MB of resident memory for tools that never serve HTTP).
 */
#ifndef LOUPE_MHD_H
#define LOUPE_MHD_H

#include <microhttpd.h>

struct mhd_api {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_is_feature_supported) *is_feature_supported;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_basic_auth_get_username_password)
		*basic_auth_get_username_password;
	__typeof__(MHD_queue_basic_auth_fail_response)
		*queue_basic_auth_fail_response;
	__typeof__(MHD_free) *free;
	__typeof__(MHD_suspend_connection) *suspend_connection;
	__typeof__(MHD_resume_connection) *resume_connection;
};

extern struct mhd_api mhd;

/* 0, or -1 after saying what is missing; later calls are free. */
int mhd_load(void);

#endif
