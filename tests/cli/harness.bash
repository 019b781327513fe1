# Shared by the tests/cli/*.sh scripts (sourced; not a test itself: ctest runs *.sh).
# Sets cli (the latentcl binary, $1 of the script), fails, and a scratch $tmp removed at exit.
# A script ends with `finish`, which fails it when any check failed.
cli="$1"
fails=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE PATTERN -- command...: exit code and an output line matching PATTERN, and no
# sanitizer report.
expect() {
  local code="$1" pattern="$2"; shift 3
  "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$?
  if [ "$rc" != "$code" ] || ! grep -qE -- "$pattern" "$tmp/err" "$tmp/out"; then
    echo "FAIL: $* -> exit $rc (want $code), output:"; cat "$tmp/out" "$tmp/err"
    fails=$((fails + 1))
  elif grep -q "Sanitizer" "$tmp/err"; then
    echo "FAIL: $*: sanitizer report:"; cat "$tmp/err"
    fails=$((fails + 1))
  else
    echo "ok: $*"
  fi
}

# A failure prints exactly one line on stderr.
one_line_error() {
  local n
  n=$(wc -l < "$tmp/err")
  if [ "$n" != 1 ]; then
    echo "FAIL: expected one line on stderr, got $n:"; cat "$tmp/err"
    fails=$((fails + 1))
  fi
}

# expect1 PATTERN -- command...: exit 1 with one line on stderr matching PATTERN.
expect1() {
  expect 1 "$@"
  one_line_error
}

# The script's last command: its exit status says whether every check passed.
finish() {
  echo "$fails failure(s)"
  [ "$fails" = 0 ]
}
