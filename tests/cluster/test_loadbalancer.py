"""The nginx configuration of the cluster profile listens on loopback unless told otherwise."""

import re
from pathlib import Path

from cluster.loadbalancer import render


def listens(config: str) -> list[str]:
    return re.findall(r"^\s*listen\s+(\S+);", config, flags=re.M)


def test_nginx_listens_on_loopback_by_default(tmp_path: Path) -> None:
    assert listens(render(tmp_path, (5005, [5015, 5016]), (5055, [5065]))) == ["127.0.0.1:5005", "127.0.0.1:5055"]


def test_exposing_rasa_never_exposes_the_action_servers(tmp_path: Path) -> None:
    """run-cluster.sh passes security.listen's address for `rasa`; the action servers' front stays on loopback."""
    assert listens(render(tmp_path, (5005, [5015]), (5055, [5065]), listen="0.0.0.0")) == ["0.0.0.0:5005", "127.0.0.1:5055"]
