"""The load balancer of `make run-cluster` and the cluster tests: nginx (Debian's package) in
front of the Rasa replicas and of the action servers.

Round robin, no stickiness: Rasa's lock store serialises a conversation whichever replica gets a
message, and the web chat widget speaks socket.io over WebSocket only (no long-polling session
to keep on one replica), so the only thing the proxy must do for it is pass the Upgrade.
A replica that refuses connections is skipped (`proxy_next_upstream error`), but a request
already sent is never re-sent to another one: Twilio's retry (same MessageSid) does that safely.

`python -m cluster.loadbalancer --dir D --rasa 5005=5015,5016 --actions 5055=5065,5066` writes
D/nginx.conf; `nginx -p D -c nginx.conf` runs it in the foreground.
"""

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

NGINX = "/usr/sbin/nginx"


def nginx_binary() -> str:
    """Debian's nginx (`make nginx` installs it), or the one on PATH."""
    return NGINX if Path(NGINX).exists() else (shutil.which("nginx") or NGINX)


def _upstream(name: str, ports: Sequence[int]) -> str:
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n" for port in ports)
    return f"  upstream {name} {{\n{servers}    keepalive 32;\n  }}\n"


def render(directory: Path, rasa: tuple[int, Sequence[int]], actions: tuple[int, Sequence[int]], listen: str = "127.0.0.1") -> str:
    """nginx.conf for the Rasa replicas (listening on rasa[0]) and the action servers (actions[0])."""
    return f"""# Written by cluster/loadbalancer.py; nginx -p {directory} -c nginx.conf
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {directory}/client_body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
  # Bodies and responses stay in memory: nothing is written under the temp paths, which the
  # worker (an unprivileged user when nginx starts as root) may not be allowed to write.
  client_max_body_size 1m;
  client_body_buffer_size 1m;
  proxy_buffer_size 64k;
  proxy_buffers 64 64k;
  proxy_max_temp_file_size 0;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
{_upstream("rasa_replicas", rasa[1])}{_upstream("action_servers", actions[1])}
  server {{
    listen {listen}:{rasa[0]};
    location / {{
      proxy_pass http://rasa_replicas;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_next_upstream error;
      proxy_read_timeout 300s;
      proxy_buffering off;
    }}
  }}
  server {{
    listen 127.0.0.1:{actions[0]};
    location / {{
      proxy_pass http://action_servers;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_next_upstream error;
      proxy_read_timeout 300s;
    }}
  }}
}}
"""


def _ports(value: str) -> tuple[int, list[int]]:
    front, _, back = value.partition("=")
    try:
        return int(front), [int(port) for port in back.split(",") if port]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected PORT=PORT,PORT") from None


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m cluster.loadbalancer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--rasa", type=_ports, required=True, help="LISTEN=REPLICA,REPLICA")
    parser.add_argument("--actions", type=_ports, required=True, help="LISTEN=SERVER,SERVER")
    parser.add_argument("--listen", default="127.0.0.1", help="address of the Rasa front (0.0.0.0 to expose it)")
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nginx.conf").write_text(render(directory, args.rasa, args.actions, args.listen))
    print(nginx_binary())


if __name__ == "__main__":
    main(sys.argv[1:])
