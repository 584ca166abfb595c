"""Command server used by the loupe runtime tests (stdlib only).

Runs as a child process and performs actions on request, so a test can make a
process with a known pid / comm / cgroup do things while loupe watches it.
Protocol: one command per line on stdin, one reply line on stdout.
stdin is read byte by byte so nothing is lost when the server re-execs itself.

  open PATH          -> "ok FD" | "err ERRNO"
  comm NAME          -> "ok"          (sets the comm of the process)
  exec PATH ARG...   -> (new image; a re-exec'd server prints "ready") | "err ERRNO"
  thread             -> "ok TID"      (a thread is started, exits, is joined)
  exit CODE          -> process exits with CODE
  pid                -> "ok PID PPID"
Prints "ready" at start (argv[1:] are ignored: markers for execsnoop).
"""
import os
import sys
import threading


def reply(s):
    os.write(1, (s + "\n").encode())


def readline():
    buf = b""
    while True:
        c = os.read(0, 1)
        if not c:
            return None
        if c == b"\n":
            return buf.decode()
        buf += c


def main():
    reply("ready")
    while True:
        line = readline()
        if line is None:
            os._exit(0)
        cmd, _, rest = line.partition(" ")
        if cmd == "open":
            try:
                fd = os.open(rest, os.O_RDONLY)
                os.close(fd)
                reply("ok %d" % fd)
            except OSError as e:
                reply("err %d" % e.errno)
        elif cmd == "comm":
            with open("/proc/self/comm", "w") as f:
                f.write(rest)
            reply("ok")
        elif cmd == "exec":
            parts = rest.split(" ")
            try:
                os.execv(parts[0], parts)
            except OSError as e:
                reply("err %d" % e.errno)
        elif cmd == "thread":
            box = []
            t = threading.Thread(target=lambda: box.append(threading.get_native_id()))
            t.start()
            t.join()
            reply("ok %d" % box[0])
        elif cmd == "exit":
            sys.stdout.flush()
            os._exit(int(rest))
        elif cmd == "pid":
            reply("ok %d %d" % (os.getpid(), os.getppid()))
        else:
            reply("err bad-command")


if __name__ == "__main__":
    main()
