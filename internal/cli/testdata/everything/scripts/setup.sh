#!/bin/sh
set -e
echo "setup on $PACKER_BUILD_NAME"
test -f /opt/app/app.conf
