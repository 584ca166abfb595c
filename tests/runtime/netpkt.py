"""A corpus of generated Ethernet packets for the packet filter tests:
IPv4/IPv6 TCP, UDP and ICMP with varied hosts, ports, flags, options and
fragments, VLAN-tagged frames, ARP, truncated and random frames; written
as a pcap file tcpdump and libpcap read."""
import random
import struct

MACS = [bytes.fromhex(m) for m in ("aabbccddee01", "aabbccddee02",
                                   "020000000001", "ffffffffffff")]
V4 = ["10.0.0.1", "10.0.0.2", "10.0.0.77", "192.168.1.10", "172.16.5.4",
      "8.8.8.8", "224.0.0.5", "255.255.255.255"]
V6 = ["fd00::1", "fd00::2", "fd00:0:0:1::5", "2001:db8::1", "ff02::1"]
PORTS = [22, 53, 80, 443, 1024, 1234, 1500, 2000, 2001, 8080, 40000]
TCP_FLAGS = [0x02, 0x12, 0x10, 0x11, 0x04, 0x18, 0x01, 0x00, 0x3f]


def _v4(s):
    return bytes(int(x) for x in s.split("."))


def _v6(s):
    import socket
    return socket.inet_pton(socket.AF_INET6, s)


def _eth(dst, src, ethertype, vlans=()):
    h = dst + src
    for tpid, vid in vlans:
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", ethertype)


def _tcp(sport, dport, flags, payload):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags,
                       1024, 0, 0) + payload


def _udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _icmp(typ, code, payload):
    return struct.pack("!BBHI", typ, code, 0, 0) + payload


def _ipv4(src, dst, proto, l4, ttl=64, frag=0, opts=b""):
    ihl = 5 + len(opts) // 4
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + len(l4),
                       1, frag, ttl, proto, 0, _v4(src), _v4(dst)) + opts + l4


def _ipv6(src, dst, nh, l4):
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), nh, 64,
                       _v6(src), _v6(dst)) + l4


def packets(seed=17, count=600):
    """count frames (bytes), the same for a given seed."""
    rnd = random.Random(seed)
    out = []
    payloads = [b"", b"GET / HTTP/1.1\r\n", b"\x12\x34" * 8, b"x" * 300,
                b"y" * 900]
    while len(out) < count:
        kind = rnd.randrange(10)
        dst, src = rnd.choice(MACS), rnd.choice(MACS[:3])
        vlans = ()
        if rnd.random() < 0.2:
            vlans = ((0x8100, rnd.choice([100, 200, 0x2064])),)
            if rnd.random() < 0.2:
                vlans = ((0x88a8, 7),) + vlans
        pl = rnd.choice(payloads)
        if kind <= 5:
            proto = rnd.choice([6, 6, 17, 1])
            if proto == 6:
                l4 = _tcp(rnd.choice(PORTS), rnd.choice(PORTS),
                          rnd.choice(TCP_FLAGS), pl)
            elif proto == 17:
                l4 = _udp(rnd.choice(PORTS), rnd.choice(PORTS), pl)
            else:
                l4 = _icmp(rnd.choice([0, 3, 8, 11]), 0, pl)
            frag = rnd.choice([0, 0, 0, 0x2000, 0x0010, 0x4000])
            opts = b"\x01\x01\x01\x00" if rnd.random() < 0.15 else b""
            ttl = rnd.choice([64, 64, 128, 255, 1, 65])
            l3 = _ipv4(rnd.choice(V4), rnd.choice(V4), proto, l4, ttl, frag,
                       opts)
            frame = _eth(dst, src, 0x0800, vlans) + l3
        elif kind <= 7:
            nh = rnd.choice([6, 17, 58])
            if nh == 6:
                l4 = _tcp(rnd.choice(PORTS), rnd.choice(PORTS),
                          rnd.choice(TCP_FLAGS), pl)
            elif nh == 17:
                l4 = _udp(rnd.choice(PORTS), rnd.choice(PORTS), pl)
            else:
                l4 = _icmp(rnd.choice([128, 129, 135, 1]), 0, pl)
            frame = _eth(dst, src, 0x86dd, vlans) + _ipv6(
                rnd.choice(V6), rnd.choice(V6), nh, l4)
        elif kind == 8:
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src,
                              _v4(rnd.choice(V4)), b"\0" * 6,
                              _v4(rnd.choice(V4)))
            frame = _eth(MACS[3], src, 0x0806, vlans) + arp
        else:
            frame = bytes(rnd.randrange(256)
                          for _ in range(rnd.randrange(14, 120)))
        if rnd.random() < 0.1 and len(frame) > 15:
            frame = frame[:rnd.randrange(14, len(frame))]
        elif len(frame) < 60 and rnd.random() < 0.7:
            frame += b"\0" * (60 - len(frame))
        out.append(frame)
    return out


def write_pcap(path, frames, snaplen=262144):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)
