#!/bin/sh
# make check: the storage conformance suite against the built-in vfs driver
exec "$(dirname "$0")/conformance" storage vfs
