# Sourced by scripts/run and scripts/test: `venv DIR LOCK` makes DIR hold exactly torch
# (requirements/torch.txt) and LOCK, with every hash checked. A venv made from other locks
# is made again, so nothing stale survives a lock change.
python=${PYTHON:-python3}

lock_stamp() {
    cat requirements/torch.txt "$1" | sha256sum | cut -c1-16
}

venv() {
    local dir=$1 lock=$2 stamp
    stamp=$(lock_stamp "$lock")
    [ "$(cat "$dir/.locked" 2>/dev/null)" = "$stamp" ] && return 0
    echo "Installing $dir from $lock (a few minutes, once)..." >&2
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --upgrade pip
    # torch first, on its own: its build is per machine (CPU or CUDA), so the locks leave it out.
    "$dir/bin/python" -m pip install --quiet -r requirements/torch.txt
    "$dir/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$lock"
    echo "$stamp" >"$dir/.locked"
}
