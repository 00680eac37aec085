#!/bin/sh
set -e
mkdir -p /opt/app/log
echo "installed" > /opt/app/log/install.log
echo "app ready" > /root/app-state.txt
