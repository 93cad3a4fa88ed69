# Sourced by run.sh: put the repository's virtual environment first on PATH when there is one,
# so that the recipe runs the checkout's tts-ebm whatever the caller's environment.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -x "$repo_root/.venv/bin/tts-ebm" ]; then
    export PATH="$repo_root/.venv/bin:$PATH"
fi
export PYTHONUNBUFFERED=1
