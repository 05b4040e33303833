// Command etcd runs etcd's own main, so the binary behaves as upstream's etcd.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
