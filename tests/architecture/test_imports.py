"""The layout's rules, read from the code's own imports (ast, nothing is imported):

- no import cycle between top-level packages (a imports b, b imports a back, directly or round a loop);
- the Rasa server (Python 3.10, `.venv-rasa`) loads only what config.yml and credentials.yml name, and
  what that imports: none of it may reach the action server's or the support app's packages;
- the action server (`python -m bot.action_server`: bot.actions and what they call) loads neither the support
  app, nor the staff tools, nor Rasa's components and channels.

Imports inside functions count too: they run in the same process when called.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
NOT_PRODUCT = {"tests", "bench", "requirements", "docs", "var"}

# What the Rasa process may load (besides Rasa and its own dependencies). Everything else runs on Python 3.11 in the
# action server (bot.actions and the domain packages it calls), the support app (support_app, shop, console) or
# the tools (tuning, scripts, *.__main__).
RASA_PROCESS_PACKAGES = {
    "bot.components",
    "bot.tracker_store",
    "bot.event_broker",
    "bot.event_redaction",
    "bot.action_payload",
    "bot.action_response",
    "cluster",
    "connectors",
    "customer_store",
    "handoff",
    "intent_encoder",
    "kb_index",
    "language",
    "privacy",
    "security",
    "settings.rasa_side",  # standard library only: settings.model needs pydantic 2, which Rasa 3.6 cannot have
    "storage",
    "validation",
}


def top_level_packages() -> list[str]:
    return sorted(
        p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_PRODUCT and any(p.rglob("*.py"))
    )


def modules() -> dict[str, Path]:
    found = {}
    for package in top_level_packages():
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imported_names(path: Path, module: str) -> Iterator[str]:
    """Every module name `path` imports, at its top or inside a function (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def module_graph() -> dict[str, set[str]]:
    """First-party module → the first-party modules it imports (a name that is a package's attribute maps to the package)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = set()
        for name in imported_names(path, module):
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_between_top_level_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        top = module.split(".")[0]
        packages.setdefault(top, set()).update(t.split(".")[0] for t in targets if t.split(".")[0] != top)
    assert find_cycle(packages) is None, " → ".join(find_cycle(packages) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def rasa_entry_modules() -> set[str]:
    """The modules Rasa imports by class path: custom components (config.yml), channels (credentials.yml) and
    stores or brokers (endpoints*.yml)."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    class_paths = [step["name"] for step in [*config.get("pipeline", []), *config.get("policies", [])] if "." in step["name"]]
    class_paths += [key for key in credentials if "." in key]
    for endpoints in sorted(ROOT.glob("endpoints*.yml")):
        sections = yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}
        class_paths += [
            str(section["type"]) for section in sections.values() if isinstance(section, dict) and "." in str(section.get("type", ""))
        ]
    return {path.rpartition(".")[0] for path in class_paths}


def loaded_by_rasa() -> set[str]:
    return loaded_from(rasa_entry_modules())


def loaded_by_the_action_server() -> set[str]:
    """bot.action_server registers every module of the bot.actions package with the SDK's executor."""
    return loaded_from({"bot.action_server", *(module for module in module_graph() if module.startswith("bot.actions."))})


def loaded_from(entries: set[str]) -> set[str]:
    graph = module_graph()
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in graph]  # parent packages run too
        todo += graph.get(module, ())
    return seen


def test_rasa_loads_the_components_and_channels_it_is_configured_with() -> None:
    entries = rasa_entry_modules()
    assert "bot.components.linear_intent_classifier" in entries
    assert any(module.startswith("connectors.whatsapp") for module in entries)
    assert entries <= set(module_graph()), entries - set(module_graph())


def test_the_rasa_process_does_not_load_action_server_or_support_app_code() -> None:
    def allowed(module: str) -> bool:
        return module in ("bot", "settings") or any(module == p or module.startswith(p + ".") for p in RASA_PROCESS_PACKAGES)

    outside = sorted(module for module in loaded_by_rasa() if not allowed(module))
    assert not outside, f"the Rasa process (Python 3.10) would import {outside}"


def test_the_action_server_does_not_load_the_support_app_the_tools_or_rasas_components() -> None:
    forbidden = ("support_app", "tuning", "analytics", "bot.components", "connectors")
    loaded = loaded_by_the_action_server()
    assert "bot.actions.kb" in loaded and "feedback.ranking" in loaded
    outside = sorted(module for module in loaded if any(module == p or module.startswith(p + ".") for p in forbidden))
    assert not outside, f"the action server would import {outside}"
