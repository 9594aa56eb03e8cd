#!/bin/sh
# hang.sh DIR: a check script that hangs, with a child that would outlive it.
# It records both PIDs in DIR so that the test can see them die.
sleep 300 &
echo $! > "$1/child.pid.tmp" && mv "$1/child.pid.tmp" "$1/child.pid"
echo $$ > "$1/leader.pid.tmp" && mv "$1/leader.pid.tmp" "$1/leader.pid"
wait
