// Package driver implements the CSI identity, controller and node services for volumes
// that are directories on one node.
package driver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"

	"restore-drill/images/csi-hostpath/internal/store"
)

// Name is the CSI driver name, the same as the upstream hostpath driver's so that
// manifests and StorageClasses written for it work unchanged.
const Name = "hostpath.csi.k8s.io"

// Config is what the driver needs from its flags.
type Config struct {
	Version string
	NodeID  string
	DataDir string
}

// Driver holds the state the three CSI services share.
type Driver struct {
	cfg   Config
	store *store.Store
	locks *keyLocks
	log   *slog.Logger
}

// New prepares the data directory and loads the metadata in it.
func New(cfg Config, log *slog.Logger) (*Driver, error) {
	if cfg.NodeID == "" {
		return nil, fmt.Errorf("a node ID is required")
	}
	d := &Driver{cfg: cfg, locks: newKeyLocks(), log: log}
	for _, dir := range []string{d.volumesDir(), d.snapshotsDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	d.store = st
	d.cleanLeftovers()
	return d, nil
}

// Register adds the identity, controller and node services to a gRPC server.
func (d *Driver) Register(g *grpc.Server) {
	csi.RegisterIdentityServer(g, &identityServer{d: d})
	csi.RegisterControllerServer(g, &controllerServer{d: d})
	csi.RegisterNodeServer(g, &nodeServer{d: d})
}

func (d *Driver) volumesDir() string   { return filepath.Join(d.cfg.DataDir, "volumes") }
func (d *Driver) snapshotsDir() string { return filepath.Join(d.cfg.DataDir, "snapshots") }

func (d *Driver) volumePath(id string) string { return filepath.Join(d.volumesDir(), id) }

func (d *Driver) snapshotPath(id string) string {
	return filepath.Join(d.snapshotsDir(), id+".tar")
}

// tmpPrefix marks work in progress; what a crash leaves with it is removed at start.
const tmpPrefix = ".tmp-"

// cleanLeftovers removes half-made volumes and archives. Entries the metadata does not
// know are only reported: deleting them would be wrong if the metadata file were lost.
func (d *Driver) cleanLeftovers() {
	for _, dir := range []string{d.volumesDir(), d.snapshotsDir()} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			d.log.Warn("cannot list data directory", "dir", dir, "error", err)
			continue
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				d.log.Info("removing unfinished work", "path", path, "error", os.RemoveAll(path))
				continue
			}
			id := strings.TrimSuffix(e.Name(), ".tar")
			_, isVolume := d.store.Volume(id)
			_, isSnapshot := d.store.Snapshot(id)
			if !isVolume && !isSnapshot {
				d.log.Warn("not in the metadata file, left alone", "path", path)
			}
		}
	}
}

// idBytes gives 32 hex characters: random, so a name reused after a delete never gets
// the old volume's ID.
const idBytes = 16

func newID() string {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

func isID(s string) bool {
	if len(s) != 2*idBytes {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// keyLocks refuses, rather than queues, a second operation on a busy volume, snapshot or
// name: the CSI spec asks for ABORTED then, and the sidecars retry. Sources being read
// (snapshotted, cloned, restored from) are shared; creation, deletion are exclusive.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]int // -1: exclusive; n > 0: n shared holders
}

func newKeyLocks() *keyLocks { return &keyLocks{held: map[string]int{}} }

// acquire takes every key or none; release undoes it.
func (k *keyLocks) acquire(exclusive, shared []string) (release func(), ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range exclusive {
		if k.held[key] != 0 {
			return nil, false
		}
	}
	for _, key := range shared {
		if k.held[key] < 0 {
			return nil, false
		}
	}
	for _, key := range exclusive {
		k.held[key] = -1
	}
	for _, key := range shared {
		k.held[key]++
	}
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, key := range exclusive {
			delete(k.held, key)
		}
		for _, key := range shared {
			if k.held[key]--; k.held[key] == 0 {
				delete(k.held, key)
			}
		}
	}, true
}

// Lock keys, one namespace each.
func volumeKey(id string) string       { return "volume/" + id }
func volumeNameKey(name string) string { return "volume-name/" + name }
func snapshotKey(id string) string     { return "snapshot/" + id }
func snapshotNameKey(n string) string  { return "snapshot-name/" + n }
