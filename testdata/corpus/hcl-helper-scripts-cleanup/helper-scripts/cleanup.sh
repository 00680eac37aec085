#!/bin/sh
# Wipe what must not ship in an image.
rm -rf /opt/app/log /root/.bash_history
echo cleaned > /root/cleanup.txt
