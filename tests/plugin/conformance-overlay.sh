#!/bin/sh
# make check: the storage conformance suite against overlay.so of this build
top=$(cd "$(dirname "$0")/../.." && pwd)
exec "$top/tests/plugin/conformance" storage overlay "$top/plugins/.libs"
