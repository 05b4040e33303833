// Package sockets opens the driver's unix sockets.
package sockets

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Path turns a CSI endpoint ("unix:///csi/csi.sock", "unix:/csi/csi.sock" or a bare
// path) into a socket path. Only unix sockets: the driver is reached on its node only.
func Path(endpoint string) (string, error) {
	path, found := strings.CutPrefix(endpoint, "unix://")
	if !found {
		path, found = strings.CutPrefix(endpoint, "unix:")
	}
	if !found && strings.Contains(endpoint, "://") {
		return "", fmt.Errorf("endpoint %q: only unix sockets are served", endpoint)
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("endpoint %q: the socket path must be absolute", endpoint)
	}
	return filepath.Clean(path), nil
}

// Listen opens a unix socket at path with the given permissions, creating its directory
// and replacing a stale socket left by an earlier run.
func Listen(path string, perm os.FileMode) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := Remove(path); err != nil {
		return nil, err
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, perm); err != nil {
		lis.Close()
		return nil, err
	}
	return lis, nil
}

// Remove deletes path when it is a socket. Anything else there is an error rather than
// something to delete.
func Remove(path string) error {
	info, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	return os.Remove(path)
}
