package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := Volume{ID: "v1", Name: "pvc", CapacityBytes: 5, CreatedAt: time.Unix(10, 0).UTC()}
	sn := Snapshot{ID: "s1", Name: "snap", SourceVolumeID: "v1", SizeBytes: 5, CreatedAt: time.Unix(11, 0).UTC()}
	if err := s.PutVolume(v); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshot(sn); err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := reopened.VolumeByName("pvc"); !ok || got.ID != "v1" || !got.CreatedAt.Equal(v.CreatedAt) {
		t.Fatalf("volume after reopen: %+v %v", got, ok)
	}
	if got, ok := reopened.SnapshotByName("snap"); !ok || got.SourceVolumeID != "v1" {
		t.Fatalf("snapshot after reopen: %+v %v", got, ok)
	}
	if err := reopened.DeleteVolume("v1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := reopened.Volume("v1"); ok {
		t.Fatal("deleted volume still there")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".state-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestCorruptFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil {
		t.Fatal("a corrupt metadata file was taken for an empty one")
	}
}

func TestFailedWriteChangesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.path = filepath.Join(dir, "missing-dir", FileName)
	if err := s.PutVolume(Volume{ID: "v1", Name: "pvc"}); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if _, ok := s.Volume("v1"); ok {
		t.Fatal("memory holds a volume the file does not")
	}
}
