"""The TCP sockets a process tree listens on, read from /proc (no ss/lsof needed)."""

import os
import socket
from pathlib import Path


def process_tree(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += children.get(pid, [])
    return tree


def socket_inodes(pids: set[int]) -> dict[int, int]:
    """socket inode → pid."""
    found: dict[int, int] = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    found[int(target[8:-1])] = pid
        except OSError:
            continue
    return found


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1]), int(port, 16)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    text = socket.inet_ntop(socket.AF_INET6, words)
    return (text[7:] if text.startswith("::ffff:") else text), int(port, 16)


def listeners(root: int) -> list[tuple[str, int, int]]:
    """(host, port, pid) of every TCP socket in LISTEN state held by the process tree."""
    inodes = socket_inodes(process_tree(root))
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[9]) in inodes:
                found.append((*_address(fields[1]), inodes[int(fields[9])]))
    return found


def command_lines(root: int) -> list[str]:
    """The command line of every process of the tree (as `ps` shows it to any local user)."""
    found = []
    for pid in process_tree(root):
        try:
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace"))
        except OSError:
            continue
    return found
