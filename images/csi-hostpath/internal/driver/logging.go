package driver

import (
	"context"
	"log/slog"
	"path"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Request and response fields worth a log line; generated protobuf getters satisfy them.
type (
	hasVolumeID       interface{ GetVolumeId() string }
	hasSnapshotID     interface{ GetSnapshotId() string }
	hasSourceVolumeID interface{ GetSourceVolumeId() string }
	hasName           interface{ GetName() string }
	hasTargetPath     interface{ GetTargetPath() string }
)

// LogCalls logs every RPC in one line: method, the IDs involved, result, duration.
func LogCalls(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		attrs := append([]any{"method", path.Base(info.FullMethod)}, requestAttrs(req)...)
		attrs = append(attrs, "ms", time.Since(start).Milliseconds())
		if err != nil {
			st := status.Convert(err)
			log.Error("rpc", append(attrs, "result", st.Code().String(), "error", st.Message())...)
		} else {
			attrs = append(attrs, responseAttrs(resp)...)
			log.Info("rpc", append(attrs, "result", "OK")...)
		}
		return resp, err
	}
}

func requestAttrs(req any) []any {
	var out []any
	if r, ok := req.(hasName); ok && r.GetName() != "" {
		out = append(out, "name", r.GetName())
	}
	if r, ok := req.(hasVolumeID); ok && r.GetVolumeId() != "" {
		out = append(out, "volume", r.GetVolumeId())
	}
	if r, ok := req.(hasSourceVolumeID); ok && r.GetSourceVolumeId() != "" {
		out = append(out, "sourceVolume", r.GetSourceVolumeId())
	}
	if r, ok := req.(hasSnapshotID); ok && r.GetSnapshotId() != "" {
		out = append(out, "snapshot", r.GetSnapshotId())
	}
	if r, ok := req.(hasTargetPath); ok && r.GetTargetPath() != "" {
		out = append(out, "target", r.GetTargetPath())
	}
	if r, ok := req.(*csi.CreateVolumeRequest); ok {
		if s := r.GetVolumeContentSource().GetSnapshot(); s != nil {
			out = append(out, "fromSnapshot", s.GetSnapshotId())
		}
		if v := r.GetVolumeContentSource().GetVolume(); v != nil {
			out = append(out, "fromVolume", v.GetVolumeId())
		}
		out = append(out, "requiredBytes", r.GetCapacityRange().GetRequiredBytes())
	}
	if r, ok := req.(*csi.NodePublishVolumeRequest); ok && r.GetReadonly() {
		out = append(out, "readOnly", true)
	}
	return out
}

func responseAttrs(resp any) []any {
	switch r := resp.(type) {
	case *csi.CreateVolumeResponse:
		return []any{"newVolume", r.GetVolume().GetVolumeId(), "capacityBytes", r.GetVolume().GetCapacityBytes()}
	case *csi.CreateSnapshotResponse:
		return []any{"newSnapshot", r.GetSnapshot().GetSnapshotId(), "sizeBytes", r.GetSnapshot().GetSizeBytes()}
	case *csi.ListSnapshotsResponse:
		return []any{"entries", len(r.GetEntries()), "nextToken", r.GetNextToken()}
	}
	return nil
}
