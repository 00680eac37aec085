#!/bin/sh
echo base > /root/order.txt
