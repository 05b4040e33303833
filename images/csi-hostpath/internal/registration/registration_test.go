package registration

import (
	"context"
	"io"
	"log/slog"
	"os"
	"reflect"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// TestKubeletHandshake plays kubelet's plugin watcher against the socket.
func TestKubeletHandshake(t *testing.T) {
	dir := t.TempDir()
	failed := make(chan string, 1)
	srv := &Server{
		DriverName: "hostpath.csi.k8s.io",
		Endpoint:   "/var/lib/kubelet/plugins/csi-hostpath/csi.sock",
		Failed:     func(reason string) { failed <- reason },
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	// A stale socket from an earlier run is replaced.
	stale, err := Listen(dir, srv.DriverName)
	if err != nil {
		t.Fatal(err)
	}
	stale.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	stale.Close()
	lis, err := Listen(dir, srv.DriverName)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)

	path := SocketPath(dir, srv.DriverName)
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v", path, info, err)
	}
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := registerapi.NewRegistrationClient(conn)

	info, err := client.GetInfo(context.Background(), &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              "hostpath.csi.k8s.io",
		Endpoint:          "/var/lib/kubelet/plugins/csi-hostpath/csi.sock",
		SupportedVersions: []string{"1.0.0"},
	}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("GetInfo = %+v", info)
	}
	if _, err := client.NotifyRegistrationStatus(context.Background(),
		&registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	if len(failed) != 0 {
		t.Fatal("success reported as a failure")
	}
	if _, err := client.NotifyRegistrationStatus(context.Background(),
		&registerapi.RegistrationStatus{PluginRegistered: false, Error: "bad version"}); err != nil {
		t.Fatal(err)
	}
	if reason := <-failed; reason != "bad version" {
		t.Fatalf("failure reason %q", reason)
	}
}

func TestListenRefusesToDeleteOtherFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(SocketPath(dir, "d"), []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(dir, "d"); err == nil {
		t.Fatal("a regular file in the socket's place was replaced")
	}
}
