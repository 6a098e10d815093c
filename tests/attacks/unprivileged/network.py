# Reach the network or another process: TCP/UDP to 127.0.0.1 (the test listens on ATTACK_TCP_PORT), netlink,
# raw and packet sockets, a filesystem and an abstract unix socket the test listens on, addressed sends.
import json
import socket

ATTACK_TCP_PORT = 47611
ABSTRACT = "\0grader-unprivileged-attack"
FILESYSTEM = "/tmp/grader-unprivileged-attack.sock"


def conv_forward_naive(x, w, b, conv_param):
    managed, tried = [], 0

    def attempt(what, action):
        nonlocal tried
        tried += 1
        try:
            action()
            managed.append(what)
        except OSError:
            pass

    def connect(family, kind, address):
        with socket.socket(family, kind) as sock:
            sock.settimeout(1)
            sock.connect(address)
            sock.sendall(b"hello")

    attempt("tcp 127.0.0.1", lambda: connect(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", ATTACK_TCP_PORT)))
    attempt("udp 127.0.0.1", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", ATTACK_TCP_PORT)))
    attempt("tcp ::1", lambda: connect(socket.AF_INET6, socket.SOCK_STREAM, ("::1", ATTACK_TCP_PORT)))
    attempt("netlink socket", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close())
    attempt("packet socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close())
    attempt("raw socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close())
    attempt("abstract unix socket", lambda: connect(socket.AF_UNIX, socket.SOCK_STREAM, ABSTRACT))
    attempt("filesystem unix socket", lambda: connect(socket.AF_UNIX, socket.SOCK_STREAM, FILESYSTEM))
    attempt("unix datagram sendto", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"x", ABSTRACT))
    attempt("bind an abstract socket", lambda: socket.socket(socket.AF_UNIX).bind("\0grader-attack-bound"))
    attempt("bind a socket in the work folder", lambda: socket.socket(socket.AF_UNIX).bind("attack.sock"))
    raise RuntimeError(f"tried {tried}; MANAGED {json.dumps(managed)}")
