# shellcheck shell=bash
# Sourced by the scripts that run wshub or wshub-load: the one
# place that says which binaries are under test.  The Python runners'
# counterpart is wshub_path() in test/support/wshub_process.py.
#
#   wshub_path        $WSHUB, else build/wshub
#   wshub_load_path   $WSHUB_LOAD, else build/wshub-load
#
# scripts/run-tests.sh sets WSHUB and WSHUB_LOAD to BUILD/wshub and
# BUILD/wshub-load (build, build/asan, ...).  Both functions print an
# absolute path: a relative one is taken from the caller's directory, as
# given, so a script may cd to the repository root afterwards.

# abs_path PATH: PATH, made absolute from the current directory.
abs_path() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

wshub_path() {
	abs_path "${WSHUB:-build/wshub}"
}

wshub_load_path() {
	abs_path "${WSHUB_LOAD:-build/wshub-load}"
}
