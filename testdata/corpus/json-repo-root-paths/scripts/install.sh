#!/bin/sh
set -e
echo "$APP_VERSION" > /root/app-version
