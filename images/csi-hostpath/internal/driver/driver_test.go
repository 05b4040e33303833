package driver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"restore-drill/images/csi-hostpath/internal/mount"
)

var ctx = context.Background()

func newDriver(t *testing.T, dir string) (*controllerServer, *nodeServer) {
	t.Helper()
	d, err := New(Config{Version: "test", NodeID: "node-1", DataDir: dir}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &controllerServer{d: d}, &nodeServer{d: d}
}

func mountCap(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

func volumeRequest(name string, bytes int64) *csi.CreateVolumeRequest {
	return &csi.CreateVolumeRequest{
		Name:               name,
		CapacityRange:      &csi.CapacityRange{RequiredBytes: bytes},
		VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)},
		Parameters:         map[string]string{"csi.storage.k8s.io/pvc/name": "data"},
	}
}

func fromSnapshot(req *csi.CreateVolumeRequest, id string) *csi.CreateVolumeRequest {
	req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id},
	}}
	return req
}

func fromVolume(req *csi.CreateVolumeRequest, id string) *csi.CreateVolumeRequest {
	req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
		Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: id},
	}}
	return req
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func mustVolume(t *testing.T, c *controllerServer, req *csi.CreateVolumeRequest) *csi.Volume {
	t.Helper()
	resp, err := c.CreateVolume(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetVolume()
}

func mustSnapshot(t *testing.T, c *controllerServer, name, volumeID string) *csi.Snapshot {
	t.Helper()
	resp, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeID})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetSnapshot()
}

func TestCreateVolumeIsIdempotentByName(t *testing.T) {
	c, _ := newDriver(t, t.TempDir())
	first := mustVolume(t, c, volumeRequest("pvc-1", 1<<20))
	again := mustVolume(t, c, volumeRequest("pvc-1", 1<<20))
	if again.GetVolumeId() != first.GetVolumeId() || again.GetCapacityBytes() != 1<<20 {
		t.Fatalf("retry gave %v, first %v", again, first)
	}
	_, err := c.CreateVolume(ctx, volumeRequest("pvc-1", 2<<20))
	wantCode(t, err, codes.AlreadyExists)
	other := volumeRequest("pvc-1", 1<<20)
	other.Parameters = map[string]string{"csi.storage.k8s.io/pvc/name": "other"}
	_, err = c.CreateVolume(ctx, other)
	wantCode(t, err, codes.AlreadyExists)
	_, err = c.CreateVolume(ctx, fromVolume(volumeRequest("pvc-1", 1<<20), first.GetVolumeId()))
	wantCode(t, err, codes.AlreadyExists)
}

func TestCreateVolumeRejectsBadRequests(t *testing.T) {
	c, _ := newDriver(t, t.TempDir())
	block := volumeRequest("b", 1)
	block.VolumeCapabilities = []*csi.VolumeCapability{{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}}
	_, err := c.CreateVolume(ctx, block)
	wantCode(t, err, codes.InvalidArgument)
	inverted := volumeRequest("i", 10)
	inverted.CapacityRange.LimitBytes = 5
	_, err = c.CreateVolume(ctx, inverted)
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.CreateVolume(ctx, fromSnapshot(volumeRequest("s", 1), "missing"))
	wantCode(t, err, codes.NotFound)
	_, err = c.CreateVolume(ctx, fromVolume(volumeRequest("v", 1), "missing"))
	wantCode(t, err, codes.NotFound)
}

func TestRestoreSizeAndCapacity(t *testing.T) {
	c, _ := newDriver(t, t.TempDir())
	src := mustVolume(t, c, volumeRequest("src", 8<<20))
	snap := mustSnapshot(t, c, "snap", src.GetVolumeId())
	if snap.GetSizeBytes() != 8<<20 || !snap.GetReadyToUse() || snap.GetCreationTime() == nil {
		t.Fatalf("snapshot %v", snap)
	}
	_, err := c.CreateVolume(ctx, fromSnapshot(volumeRequest("small", 4<<20), snap.GetSnapshotId()))
	wantCode(t, err, codes.OutOfRange)
	unsized := fromSnapshot(volumeRequest("unsized", 0), snap.GetSnapshotId())
	if v := mustVolume(t, c, unsized); v.GetCapacityBytes() != 8<<20 || v.GetContentSource().GetSnapshot() == nil {
		t.Fatalf("restored without a size: %v", v)
	}
	if v := mustVolume(t, c, volumeRequest("default", 0)); v.GetCapacityBytes() != defaultCapacity {
		t.Fatalf("no size at all: %v", v)
	}
}

// A smoke test through the RPCs; internal/tree's tests cover every kind of file.
func TestSnapshotRestoreAndCloneKeepData(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := t.TempDir()
	c, _ := newDriver(t, dir)
	src := mustVolume(t, c, volumeRequest("src", 1<<20))
	file := filepath.Join(c.d.volumePath(src.GetVolumeId()), "data.txt")
	if err := os.WriteFile(file, []byte("payload"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	xattr := unix.Setxattr(file, "user.k", []byte("v"), 0)
	snap := mustSnapshot(t, c, "snap", src.GetVolumeId())
	if err := os.WriteFile(file, []byte("changed after the snapshot"), 0o640); err != nil {
		t.Fatal(err)
	}
	restored := mustVolume(t, c, fromSnapshot(volumeRequest("restored", 1<<20), snap.GetSnapshotId()))
	clone := mustVolume(t, c, fromVolume(volumeRequest("clone", 1<<20), src.GetVolumeId()))

	check := func(volumeID, want string) {
		t.Helper()
		p := filepath.Join(c.d.volumePath(volumeID), "data.txt")
		data, err := os.ReadFile(p)
		if err != nil || string(data) != want {
			t.Fatalf("%s: %q %v", p, data, err)
		}
		info, _ := os.Stat(p)
		st := info.Sys().(*syscall.Stat_t)
		if st.Uid != 1234 || st.Gid != 5678 || info.Mode().Perm() != 0o640 {
			t.Fatalf("%s: owner %d:%d mode %v", p, st.Uid, st.Gid, info.Mode())
		}
		if xattr == nil {
			buf := make([]byte, 16)
			n, err := unix.Getxattr(p, "user.k", buf)
			if err != nil || string(buf[:n]) != "v" {
				t.Fatalf("%s: xattr %q %v", p, buf[:n], err)
			}
		}
	}
	check(restored.GetVolumeId(), "payload")
	check(clone.GetVolumeId(), "changed after the snapshot")
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	c, _ := newDriver(t, dir)
	vol := mustVolume(t, c, volumeRequest("pvc", 1<<20))
	snap := mustSnapshot(t, c, "snap", vol.GetVolumeId())
	leftover := filepath.Join(dir, "volumes", tmpPrefix+"crashed")
	if err := os.Mkdir(leftover, 0o755); err != nil {
		t.Fatal(err)
	}

	c2, _ := newDriver(t, dir)
	if again := mustVolume(t, c2, volumeRequest("pvc", 1<<20)); again.GetVolumeId() != vol.GetVolumeId() {
		t.Fatalf("after restart: %v, before: %v", again, vol)
	}
	if again := mustSnapshot(t, c2, "snap", vol.GetVolumeId()); again.GetSnapshotId() != snap.GetSnapshotId() ||
		!again.GetCreationTime().AsTime().Equal(snap.GetCreationTime().AsTime()) {
		t.Fatalf("after restart: %v, before: %v", again, snap)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unfinished work left in place: %v", err)
	}
}

func TestCreateSnapshotIsIdempotentByName(t *testing.T) {
	c, _ := newDriver(t, t.TempDir())
	a := mustVolume(t, c, volumeRequest("a", 1))
	b := mustVolume(t, c, volumeRequest("b", 1))
	first := mustSnapshot(t, c, "snap", a.GetVolumeId())
	if again := mustSnapshot(t, c, "snap", a.GetVolumeId()); again.GetSnapshotId() != first.GetSnapshotId() {
		t.Fatalf("retry made another snapshot: %v vs %v", again, first)
	}
	_, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap", SourceVolumeId: b.GetVolumeId()})
	wantCode(t, err, codes.AlreadyExists)
	_, err = c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "x", SourceVolumeId: "missing"})
	wantCode(t, err, codes.NotFound)
}

func TestListSnapshotsFiltersAndPages(t *testing.T) {
	c, _ := newDriver(t, t.TempDir())
	a := mustVolume(t, c, volumeRequest("a", 1))
	b := mustVolume(t, c, volumeRequest("b", 1))
	for _, n := range []string{"1", "2", "3", "4"} {
		mustSnapshot(t, c, "a"+n, a.GetVolumeId())
	}
	ofB := mustSnapshot(t, c, "b1", b.GetVolumeId()).GetSnapshotId()

	list := func(req *csi.ListSnapshotsRequest) *csi.ListSnapshotsResponse {
		t.Helper()
		resp, err := c.ListSnapshots(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if n := len(list(&csi.ListSnapshotsRequest{SourceVolumeId: a.GetVolumeId()}).GetEntries()); n != 4 {
		t.Fatalf("by source volume: %d", n)
	}
	byID := list(&csi.ListSnapshotsRequest{SnapshotId: ofB}).GetEntries()
	if len(byID) != 1 || byID[0].GetSnapshot().GetSourceVolumeId() != b.GetVolumeId() {
		t.Fatalf("by ID: %v", byID)
	}
	if n := len(list(&csi.ListSnapshotsRequest{SnapshotId: ofB, SourceVolumeId: a.GetVolumeId()}).GetEntries()); n != 0 {
		t.Fatalf("contradicting filters: %d", n)
	}

	seen := map[string]bool{}
	token, pages := "", 0
	for {
		resp := list(&csi.ListSnapshotsRequest{MaxEntries: 2, StartingToken: token})
		pages++
		for _, e := range resp.GetEntries() {
			seen[e.GetSnapshot().GetSnapshotId()] = true
		}
		if token = resp.GetNextToken(); token == "" {
			break
		}
		// Deleting an already listed snapshot between pages must not shift the rest.
		for id := range seen {
			if _, err := c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("paging saw %d snapshots in %d pages", len(seen), pages)
	}
	_, err := c.ListSnapshots(ctx, &csi.ListSnapshotsRequest{StartingToken: "bogus"})
	wantCode(t, err, codes.Aborted)
}

func TestBusyObjectsAbort(t *testing.T) {
	c, _ := newDriver(t, t.TempDir())
	vol := mustVolume(t, c, volumeRequest("v", 1))
	snap := mustSnapshot(t, c, "s", vol.GetVolumeId())
	// As if a restore from the snapshot were running.
	release, ok := c.d.locks.acquire(nil, []string{snapshotKey(snap.GetSnapshotId()), volumeKey(vol.GetVolumeId())})
	if !ok {
		t.Fatal("lock refused")
	}
	_, err := c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: snap.GetSnapshotId()})
	wantCode(t, err, codes.Aborted)
	_, err = c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.GetVolumeId()})
	wantCode(t, err, codes.Aborted)
	// Reading a source is shared: another snapshot of the same volume may run meanwhile.
	mustSnapshot(t, c, "s2", vol.GetVolumeId())
	release()
	if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.GetVolumeId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.d.volumePath(vol.GetVolumeId())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("volume directory left: %v", err)
	}
	if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.GetVolumeId()}); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestValidateVolumeCapabilities(t *testing.T) {
	c, _ := newDriver(t, t.TempDir())
	vol := mustVolume(t, c, volumeRequest("v", 1))
	ok, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{
		VolumeId:           vol.GetVolumeId(),
		VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER)},
	})
	if err != nil || ok.GetConfirmed() == nil {
		t.Fatalf("%v %v", ok, err)
	}
	no, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{
		VolumeId:           vol.GetVolumeId(),
		VolumeCapabilities: []*csi.VolumeCapability{mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER)},
	})
	if err != nil || no.GetConfirmed() != nil || no.GetMessage() == "" {
		t.Fatalf("%v %v", no, err)
	}
}

func TestPublishAndUnpublish(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	c, n := newDriver(t, t.TempDir())
	vol := mustVolume(t, c, volumeRequest("v", 1))
	target := filepath.Join(t.TempDir(), "pod", "mount")
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		t.Fatal(err)
	}
	req := &csi.NodePublishVolumeRequest{
		VolumeId:         vol.GetVolumeId(),
		TargetPath:       target,
		VolumeCapability: mountCap(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER),
		Readonly:         true,
	}
	for range 2 { // the second call is a retry and must succeed too
		if _, err := n.NodePublishVolume(ctx, req); err != nil {
			t.Skipf("cannot mount here: %v", err)
		}
	}
	t.Cleanup(func() { _ = mount.Unmount(target) })
	if err := os.WriteFile(filepath.Join(target, "f"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Fatalf("write to a read-only publish: %v", err)
	}
	for range 2 {
		if _, err := n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: vol.GetVolumeId(), TargetPath: target}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target left behind: %v", err)
	}
	req.VolumeId = "missing"
	_, err := n.NodePublishVolume(ctx, req)
	wantCode(t, err, codes.NotFound)
}
