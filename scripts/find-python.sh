#!/usr/bin/env bash
# Print the path of a working Python X.Y: $PYTHONXY if set, pythonX.Y on PATH (a pyenv shim
# there may not run), then pyenv's and /usr's installations.
set -u
version=${1:?usage: find-python.sh 3.10}
variable="PYTHON${version/./}"
pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
candidates=("${!variable:-}" "$(command -v "python$version" 2>/dev/null)")
candidates+=("$pyenv_root"/versions/"$version"*/bin/python"$version" /usr/bin/python"$version" /usr/local/bin/python"$version")
for candidate in "${candidates[@]}"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] \
     && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
    echo "$candidate"
    exit 0
  fi
done
echo "error: no working Python $version found; install it (e.g. 'pyenv install $version') or set $variable" >&2
exit 1
