// Package registration answers kubelet's plugin watcher directly, doing the job
// node-driver-registrar does for other drivers: kubelet finds `<driver>-reg.sock` in its
// plugins_registry directory, asks GetInfo for the CSI endpoint, then reports the result
// through NotifyRegistrationStatus.
package registration

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"restore-drill/images/csi-hostpath/internal/sockets"
)

// SupportedVersions are the CSI versions announced to kubelet.
var SupportedVersions = []string{"1.0.0"}

// Server is the registration service.
type Server struct {
	DriverName string
	// Endpoint is the CSI socket's path on the node, as kubelet sees it (not the path
	// inside the driver's container).
	Endpoint string
	// Failed is called when kubelet reports a failed registration. Restarting is the
	// only way to be asked again: kubelet re-registers when the socket reappears.
	Failed func(reason string)
	Log    *slog.Logger
}

// SocketPath is where kubelet's plugin watcher looks for the driver in dir.
func SocketPath(dir, driverName string) string {
	return filepath.Join(dir, driverName+"-reg.sock")
}

// GetInfo tells kubelet what the plugin is and where its CSI endpoint is.
func (s *Server) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	s.Log.Info("rpc", "method", "Registration.GetInfo", "endpoint", s.Endpoint, "result", "OK")
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.DriverName,
		Endpoint:          s.Endpoint,
		SupportedVersions: SupportedVersions,
	}, nil
}

// NotifyRegistrationStatus logs kubelet's verdict; a failure ends the driver so that its
// container restarts and registers afresh, as node-driver-registrar does.
func (s *Server) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if !st.PluginRegistered {
		s.Log.Error("rpc", "method", "Registration.NotifyRegistrationStatus", "registered", false, "error", st.Error)
		s.Failed(st.Error)
		return &registerapi.RegistrationStatusResponse{}, nil
	}
	s.Log.Info("rpc", "method", "Registration.NotifyRegistrationStatus", "registered", true, "result", "OK")
	return &registerapi.RegistrationStatusResponse{}, nil
}

// Listen opens the registration socket in dir, owner-only as node-driver-registrar makes
// it: kubelet runs as root.
func Listen(dir, driverName string) (net.Listener, error) {
	return sockets.Listen(SocketPath(dir, driverName), 0o600)
}

// Register adds the service to a gRPC server.
func (s *Server) Register(g *grpc.Server) {
	registerapi.RegisterRegistrationServer(g, s)
}
