#!/bin/sh
# cgroup v1: makes the kubelet's cgroupRoot (/kubelet) in every mounted v1 hierarchy.
# kind's entrypoint makes it only in hierarchies whose mount matches the node's own
# cgroup; where the node sits at "/" of another one (hugetlb, perf_event, net_cls,net_prio
# on the project VM) the kubelet exits with "cgroup [kubelet] has some missing paths".
# Controllers with no mount leave only empty directories on systemd's read-only tmpfs:
# those are skipped, the kubelet does not look there.
set -eu
[ -f /sys/fs/cgroup/cgroup.controllers ] && exit 0
findmnt -rn -t cgroup -o TARGET | grep -E '^/sys/fs/cgroup/[^/]+$' | while read -r dir; do
  [ -d "$dir/kubelet" ] || mkdir "$dir/kubelet"
  # A new cpuset cgroup takes no task until it has cpus and mems.
  if [ -f "$dir/cpuset.cpus" ] && [ -z "$(cat "$dir/kubelet/cpuset.cpus")" ]; then
    cat "$dir/cpuset.cpus" > "$dir/kubelet/cpuset.cpus"
    cat "$dir/cpuset.mems" > "$dir/kubelet/cpuset.mems"
  fi
done
