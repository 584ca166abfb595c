/* Unit tests of the network vocabulary's user side: printing, parsing. */
#include <errno.h>
#include "netsock.h"
#include "unit.h"

static void test_addr(void)
{
	const __u8 v4[16] = { 127, 0, 0, 1 };
	const __u8 v6[16] = { [15] = 1 };
	char buf[NETSOCK_ADDR_PORT_LEN];

	CHECK_STR(netsock_addr(NETSOCK_AF_INET, v4, buf, sizeof(buf)),
		  "127.0.0.1");
	CHECK_STR(netsock_addr(NETSOCK_AF_INET6, v6, buf, sizeof(buf)), "::1");
	CHECK_STR(netsock_addr(1, v4, buf, sizeof(buf)), "?");
	CHECK_STR(netsock_addr_port(NETSOCK_AF_INET6, v6, 443, buf,
				    sizeof(buf)), "::1:443");
	CHECK(netsock_ip_version(NETSOCK_AF_INET6) == 6);
	CHECK(netsock_ip_version(1) == 0);
}

static void test_names(void)
{
	CHECK_STR(netsock_tcp_state(NETSOCK_TCP_ESTABLISHED), "ESTABLISHED");
	CHECK_STR(netsock_tcp_state(NETSOCK_TCP_NEW_SYN_RECV), "NEW_SYN_RECV");
	CHECK_STR(netsock_tcp_state(0), "UNKNOWN");
	CHECK_STR(netsock_tcp_state(13), "UNKNOWN");
	CHECK_STR(netsock_proto(17), "UDP");
	CHECK_STR(netsock_proto(99), "UNK");
}

static void test_parse(void)
{
	static const char *const bad[] = {
		"", "0", "65536", "-1", "+1", " 80", "80 ", "8x", "1e3",
		"99999999999999999999",
	};
	struct netsock_ip ip;
	__u16 port = 7, ports[NETSOCK_MAX_PORTS], n = 0;

	CHECK(!netsock_parse_port("65535", &port) && port == 65535);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(netsock_parse_port(bad[i], &port) == -EINVAL);
		n = 0;
		CHECK(netsock_parse_ports(bad[i], ports, &n) == -EINVAL);
	}
	CHECK(port == 65535);
	n = 0;
	CHECK(!netsock_parse_ports("80,443", ports, &n) && n == 2 &&
	      ports[0] == 80 && ports[1] == 443);
	/* A second flag appends. */
	CHECK(!netsock_parse_ports("8080", ports, &n) && n == 3 &&
	      ports[2] == 8080);
	CHECK(netsock_parse_ports("1,", ports, &n) == -EINVAL);
	CHECK(netsock_parse_ports(",1", ports, &n) == -EINVAL);
	CHECK(netsock_parse_port("80,443", &port) == -EINVAL);
	n = 0;
	CHECK(netsock_parse_ports("1,2,3,4,5,6,7,8,9", ports, &n) == -E2BIG);

	CHECK(!netsock_parse_ip("10.0.0.1", &ip) &&
	      ip.family == NETSOCK_AF_INET && ip.addr[0] == 10 &&
	      ip.addr[3] == 1);
	CHECK(!netsock_parse_ip("fe80::2", &ip) &&
	      ip.family == NETSOCK_AF_INET6 && ip.addr[0] == 0xfe &&
	      ip.addr[15] == 2);
	CHECK(netsock_parse_ip("10.0.0", &ip) == -EINVAL);
	CHECK(netsock_parse_ip("example.com", &ip) == -EINVAL);
}

const struct unit_test netsock_tests[] = {
	{ "netsock/addr", test_addr },
	{ "netsock/names", test_names },
	{ "netsock/parse", test_parse },
	{ NULL },
};
UNIT_GROUP(netsock_tests)
