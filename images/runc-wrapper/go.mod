// A runc wrapper for machines whose capability bounding set is smaller than what a
// privileged container asks for. Used by the host's dockerd and by the node's containerd.
module restore-drill/images/runc-wrapper

go 1.24
