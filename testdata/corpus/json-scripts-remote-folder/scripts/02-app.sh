#!/bin/sh
echo app >> /root/order.txt
ls /var/tmp | grep -c script_ > /root/left.txt || true
