#!/bin/sh
echo "set up by path.root" > /root/setup.txt
