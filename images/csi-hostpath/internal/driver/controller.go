package driver

import (
	"context"
	"errors"
	"maps"
	"os"
	"sort"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"restore-drill/images/csi-hostpath/internal/store"
	"restore-drill/images/csi-hostpath/internal/tree"
)

// defaultCapacity is reported for a volume asked for with no size at all. Nothing
// enforces sizes: a volume is a directory on the node's filesystem.
const defaultCapacity = 1 << 30

type controllerServer struct {
	csi.UnimplementedControllerServer
	d *Driver
}

func (s *controllerServer) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	caps := make([]*csi.ControllerServiceCapability, 0, len(controllerCapabilities))
	for _, c := range controllerCapabilities {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: c}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// source is a CreateVolume content source, flattened.
type source struct {
	snapshotID, volumeID string
}

func sourceOf(cs *csi.VolumeContentSource) (source, error) {
	switch {
	case cs == nil:
		return source{}, nil
	case cs.GetSnapshot() != nil:
		if id := cs.GetSnapshot().GetSnapshotId(); id != "" {
			return source{snapshotID: id}, nil
		}
	case cs.GetVolume() != nil:
		if id := cs.GetVolume().GetVolumeId(); id != "" {
			return source{volumeID: id}, nil
		}
	}
	return source{}, status.Error(codes.InvalidArgument, "volume content source has no snapshot or volume ID")
}

func (src source) lockKeys() []string {
	switch {
	case src.snapshotID != "":
		return []string{snapshotKey(src.snapshotID)}
	case src.volumeID != "":
		return []string{volumeKey(src.volumeID)}
	}
	return nil
}

func (src source) proto() *csi.VolumeContentSource {
	switch {
	case src.snapshotID != "":
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: src.snapshotID},
		}}
	case src.volumeID != "":
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: src.volumeID},
		}}
	}
	return nil
}

func volumeResponse(v store.Volume) *csi.CreateVolumeResponse {
	src := source{snapshotID: v.SourceSnapshotID, volumeID: v.SourceVolumeID}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      v.ID,
		CapacityBytes: v.CapacityBytes,
		ContentSource: src.proto(),
	}}
}

func busy(what string) error {
	return status.Errorf(codes.Aborted, "an operation on %s is already in progress", what)
}

func (s *controllerServer) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	name := req.GetName()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "volume name missing")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	required, limit := req.GetCapacityRange().GetRequiredBytes(), req.GetCapacityRange().GetLimitBytes()
	if required < 0 || limit < 0 {
		return nil, status.Error(codes.InvalidArgument, "negative capacity")
	}
	if limit > 0 && required > limit {
		return nil, status.Error(codes.InvalidArgument, "required bytes exceed the limit")
	}
	src, err := sourceOf(req.GetVolumeContentSource())
	if err != nil {
		return nil, err
	}

	release, ok := s.d.locks.acquire([]string{volumeNameKey(name)}, src.lockKeys())
	if !ok {
		return nil, busy("volume " + name + " or its source")
	}
	defer release()

	if v, found := s.d.store.VolumeByName(name); found {
		fits := required <= v.CapacityBytes && (limit == 0 || v.CapacityBytes <= limit)
		sameSource := src == source{snapshotID: v.SourceSnapshotID, volumeID: v.SourceVolumeID}
		if !fits || !sameSource || !sameParameters(v.Parameters, req.GetParameters()) {
			return nil, status.Errorf(codes.AlreadyExists,
				"volume %q exists with another size, source or parameters", name)
		}
		return volumeResponse(v), nil
	}

	var sourceBytes int64
	switch {
	case src.snapshotID != "":
		snap, found := s.d.store.Snapshot(src.snapshotID)
		if !found {
			return nil, status.Errorf(codes.NotFound, "source snapshot %s not found", src.snapshotID)
		}
		sourceBytes = snap.SizeBytes
	case src.volumeID != "":
		vol, found := s.d.store.Volume(src.volumeID)
		if !found {
			return nil, status.Errorf(codes.NotFound, "source volume %s not found", src.volumeID)
		}
		sourceBytes = vol.CapacityBytes
	}
	capacity := required
	if capacity == 0 { // no size asked: the source's, else the default, within the limit
		capacity = defaultCapacity
		if sourceBytes > 0 {
			capacity = sourceBytes
		}
		if limit > 0 {
			capacity = min(capacity, limit)
		}
	}
	if capacity < sourceBytes || (limit > 0 && capacity > limit) {
		return nil, status.Errorf(codes.OutOfRange,
			"the source needs %d bytes, more than the requested range allows", sourceBytes)
	}

	v := store.Volume{
		ID:               newID(),
		Name:             name,
		CapacityBytes:    capacity,
		Parameters:       req.GetParameters(),
		SourceSnapshotID: src.snapshotID,
		SourceVolumeID:   src.volumeID,
		CreatedAt:        time.Now().UTC(),
	}
	if err := s.d.makeVolume(v); err != nil {
		return nil, status.Errorf(codes.Internal, "creating volume %q: %v", name, err)
	}
	return volumeResponse(v), nil
}

// makeVolume fills a temporary directory and renames it into place, so a crash never
// leaves a half-restored volume under a real ID; then it records the volume.
func (d *Driver) makeVolume(v store.Volume) error {
	tmp := d.volumePath(tmpPrefix + v.ID)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	// The mode is set, not left to the umask: an empty volume's root is 0755 root:root.
	err := os.Chmod(tmp, 0o755)
	switch {
	case err != nil:
	case v.SourceSnapshotID != "":
		err = tree.Extract(d.snapshotPath(v.SourceSnapshotID), tmp)
	case v.SourceVolumeID != "":
		var warning string
		warning, err = tree.Copy(d.volumePath(v.SourceVolumeID), tmp)
		if warning != "" {
			d.log.Warn("source changed while being cloned", "volume", v.SourceVolumeID, "tar", warning)
		}
	}
	if err == nil {
		err = os.Rename(tmp, d.volumePath(v.ID))
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	if err := d.store.PutVolume(v); err != nil {
		_ = os.RemoveAll(d.volumePath(v.ID))
		return err
	}
	return nil
}

func sameParameters(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}

func (s *controllerServer) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing")
	}
	release, ok := s.d.locks.acquire([]string{volumeKey(id)}, nil)
	if !ok {
		return nil, busy("volume " + id)
	}
	defer release()
	if _, found := s.d.store.Volume(id); !found {
		return &csi.DeleteVolumeResponse{}, nil // already gone: deletion is idempotent
	}
	// Data first, then the record: a failure in between is finished by a retry.
	if err := os.RemoveAll(s.d.volumePath(id)); err != nil {
		return nil, status.Errorf(codes.Internal, "removing volume %s: %v", id, err)
	}
	if err := s.d.store.DeleteVolume(id); err != nil {
		return nil, status.Errorf(codes.Internal, "forgetting volume %s: %v", id, err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (s *controllerServer) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID missing")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	if _, found := s.d.store.Volume(req.GetVolumeId()); !found {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// GetCapacity reports the free space of the filesystem holding the data directory.
func (s *controllerServer) GetCapacity(_ context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.GetCapacityResponse{}, nil // none for volumes it cannot make
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(s.d.cfg.DataDir, &fs); err != nil {
		return nil, status.Errorf(codes.Internal, "statfs %s: %v", s.d.cfg.DataDir, err)
	}
	return &csi.GetCapacityResponse{AvailableCapacity: int64(fs.Bavail) * fs.Bsize}, nil
}

func snapshotProto(sn store.Snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     sn.ID,
		SourceVolumeId: sn.SourceVolumeID,
		SizeBytes:      sn.SizeBytes,
		CreationTime:   timestamppb.New(sn.CreatedAt),
		ReadyToUse:     true, // the archive is complete before the call returns
	}
}

func (s *controllerServer) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	name, volumeID := req.GetName(), req.GetSourceVolumeId()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot name missing")
	}
	if volumeID == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume ID missing")
	}
	release, ok := s.d.locks.acquire([]string{snapshotNameKey(name)}, []string{volumeKey(volumeID)})
	if !ok {
		return nil, busy("snapshot " + name + " or volume " + volumeID)
	}
	defer release()

	if sn, found := s.d.store.SnapshotByName(name); found {
		if sn.SourceVolumeID != volumeID || !sameParameters(sn.Parameters, req.GetParameters()) {
			return nil, status.Errorf(codes.AlreadyExists,
				"snapshot %q exists with another source volume or parameters", name)
		}
		return &csi.CreateSnapshotResponse{Snapshot: snapshotProto(sn)}, nil
	}
	vol, found := s.d.store.Volume(volumeID)
	if !found {
		return nil, status.Errorf(codes.NotFound, "source volume %s not found", volumeID)
	}
	sn := store.Snapshot{
		ID:             newID(),
		Name:           name,
		SourceVolumeID: volumeID,
		// The restore size is the source volume's size, as for a block-level snapshot:
		// a volume restored from it must be at least that big.
		SizeBytes:  vol.CapacityBytes,
		Parameters: req.GetParameters(),
		CreatedAt:  time.Now().UTC(),
	}
	res, err := tree.Archive(s.d.volumePath(volumeID), s.d.snapshotPath(sn.ID))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "archiving volume %s: %v", volumeID, err)
	}
	if res.Warning != "" {
		s.d.log.Warn("source changed while being archived", "volume", volumeID, "tar", res.Warning)
	}
	sn.ArchiveBytes = res.Bytes
	if err := s.d.store.PutSnapshot(sn); err != nil {
		_ = os.Remove(s.d.snapshotPath(sn.ID))
		return nil, status.Errorf(codes.Internal, "recording snapshot %q: %v", name, err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: snapshotProto(sn)}, nil
}

func (s *controllerServer) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot ID missing")
	}
	release, ok := s.d.locks.acquire([]string{snapshotKey(id)}, nil)
	if !ok {
		return nil, busy("snapshot " + id)
	}
	defer release()
	if _, found := s.d.store.Snapshot(id); !found {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	if err := os.Remove(s.d.snapshotPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "removing snapshot %s: %v", id, err)
	}
	if err := s.d.store.DeleteSnapshot(id); err != nil {
		return nil, status.Errorf(codes.Internal, "forgetting snapshot %s: %v", id, err)
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots pages through snapshots ordered by ID; a page token is the last ID
// returned, so deleting snapshots between pages neither repeats nor skips the others.
func (s *controllerServer) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Error(codes.InvalidArgument, "max_entries is negative")
	}
	token := req.GetStartingToken()
	if token != "" && !isID(token) {
		return nil, status.Errorf(codes.Aborted, "invalid starting token %q", token)
	}
	var matches []store.Snapshot
	for _, sn := range s.d.store.Snapshots() {
		if req.GetSnapshotId() != "" && sn.ID != req.GetSnapshotId() {
			continue
		}
		if req.GetSourceVolumeId() != "" && sn.SourceVolumeID != req.GetSourceVolumeId() {
			continue
		}
		if token != "" && sn.ID <= token {
			continue
		}
		matches = append(matches, sn)
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].ID < matches[j].ID })

	resp := &csi.ListSnapshotsResponse{}
	if n := int(req.GetMaxEntries()); n > 0 && len(matches) > n {
		matches = matches[:n]
		resp.NextToken = matches[n-1].ID
	}
	for _, sn := range matches {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotProto(sn)})
	}
	return resp, nil
}
