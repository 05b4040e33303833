// Package store keeps the driver's metadata (volumes and snapshots) in one JSON file, so
// a restarted driver still knows every volume and snapshot it made.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileName is the metadata file inside the data directory.
const FileName = "state.json"

// Volume is one provisioned volume: a directory under the data directory.
type Volume struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	CapacityBytes    int64             `json:"capacityBytes"`
	Parameters       map[string]string `json:"parameters,omitempty"`
	SourceSnapshotID string            `json:"sourceSnapshotID,omitempty"`
	SourceVolumeID   string            `json:"sourceVolumeID,omitempty"`
	CreatedAt        time.Time         `json:"createdAt"`
}

// Snapshot is one snapshot: an archive file under the data directory.
type Snapshot struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	SourceVolumeID string            `json:"sourceVolumeID"`
	SizeBytes      int64             `json:"sizeBytes"`
	ArchiveBytes   int64             `json:"archiveBytes"`
	Parameters     map[string]string `json:"parameters,omitempty"`
	CreatedAt      time.Time         `json:"createdAt"`
}

type document struct {
	Volumes   map[string]Volume   `json:"volumes"`
	Snapshots map[string]Snapshot `json:"snapshots"`
}

// Store is safe for concurrent use; every change is written through before it returns.
type Store struct {
	path string
	mu   sync.Mutex
	doc  document
}

// Open loads the metadata file in dir, or starts empty when there is none. A file that
// exists but does not parse is an error: starting empty would forget every volume.
func Open(dir string) (*Store, error) {
	s := &Store{
		path: filepath.Join(dir, FileName),
		doc:  document{Volumes: map[string]Volume{}, Snapshots: map[string]Snapshot{}},
	}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &s.doc); err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	if s.doc.Volumes == nil {
		s.doc.Volumes = map[string]Volume{}
	}
	if s.doc.Snapshots == nil {
		s.doc.Snapshots = map[string]Snapshot{}
	}
	return s, nil
}

// Volume returns the volume with this ID.
func (s *Store) Volume(id string) (Volume, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.doc.Volumes[id]
	return v, ok
}

// VolumeByName returns the volume created under this name.
func (s *Store) VolumeByName(name string) (Volume, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.doc.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return Volume{}, false
}

// Snapshot returns the snapshot with this ID.
func (s *Store) Snapshot(id string) (Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.doc.Snapshots[id]
	return v, ok
}

// SnapshotByName returns the snapshot created under this name.
func (s *Store) SnapshotByName(name string) (Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.doc.Snapshots {
		if v.Name == name {
			return v, true
		}
	}
	return Snapshot{}, false
}

// Snapshots returns every snapshot, in no particular order.
func (s *Store) Snapshots() []Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Snapshot, 0, len(s.doc.Snapshots))
	for _, v := range s.doc.Snapshots {
		out = append(out, v)
	}
	return out
}

// PutVolume records a volume and writes the file.
func (s *Store) PutVolume(v Volume) error {
	return s.update(func(d *document) { d.Volumes[v.ID] = v })
}

// DeleteVolume forgets a volume and writes the file.
func (s *Store) DeleteVolume(id string) error {
	return s.update(func(d *document) { delete(d.Volumes, id) })
}

// PutSnapshot records a snapshot and writes the file.
func (s *Store) PutSnapshot(v Snapshot) error {
	return s.update(func(d *document) { d.Snapshots[v.ID] = v })
}

// DeleteSnapshot forgets a snapshot and writes the file.
func (s *Store) DeleteSnapshot(id string) error {
	return s.update(func(d *document) { delete(d.Snapshots, id) })
}

// update applies change to a copy and keeps it only once it is on disk, so memory never
// claims more than the file holds.
func (s *Store) update(change func(*document)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := document{Volumes: maps.Clone(s.doc.Volumes), Snapshots: maps.Clone(s.doc.Snapshots)}
	change(&next)
	if err := writeFileAtomic(s.path, next); err != nil {
		return err
	}
	s.doc = next
	return nil
}

// writeFileAtomic replaces path by rename so a crash leaves the old or the new file,
// never a torn one.
func writeFileAtomic(path string, doc document) error {
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
