// Command csi-hostpath is a small CSI driver whose volumes are directories on one node,
// with faithful snapshots and clones (GNU tar archives that keep owners, modes, links
// and user xattrs). It registers itself with kubelet, so it needs no
// node-driver-registrar sidecar.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"restore-drill/images/csi-hostpath/internal/driver"
	"restore-drill/images/csi-hostpath/internal/registration"
	"restore-drill/images/csi-hostpath/internal/sockets"
	"restore-drill/images/csi-hostpath/internal/tree"
)

// version is reported by GetPluginInfo; builds may set it with -ldflags -X main.version=.
var version = "0.1.0"

type options struct {
	endpoint         string
	nodeID           string
	dataDir          string
	kubeletEndpoint  string
	registrationDir  string
	shutdownGraceful time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "unix:///csi/csi.sock", "CSI endpoint to serve")
	flag.StringVar(&o.nodeID, "nodeid", "", "node ID reported by NodeGetInfo (required)")
	flag.StringVar(&o.dataDir, "datadir", "/csi-data-dir", "directory holding volumes, snapshots and the metadata file")
	flag.StringVar(&o.kubeletEndpoint, "kubelet-registration-path", "/var/lib/kubelet/plugins/csi-hostpath/csi.sock",
		"the CSI socket's path on the node, as kubelet sees it")
	flag.StringVar(&o.registrationDir, "registration-dir", "/registration",
		"kubelet's plugins_registry directory as mounted in the container; empty: do not register")
	flag.DurationVar(&o.shutdownGraceful, "shutdown-grace", 30*time.Second, "how long running RPCs may finish on SIGTERM")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(driver.Name, version)
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(o, log); err != nil {
		log.Error("exiting", "error", err)
		os.Exit(1)
	}
}

func run(o options, log *slog.Logger) error {
	if _, err := exec.LookPath(tree.Tar); err != nil {
		return fmt.Errorf("snapshots and clones need GNU tar: %w", err)
	}
	socket, err := sockets.Path(o.endpoint)
	if err != nil {
		return err
	}
	d, err := driver.New(driver.Config{Version: version, NodeID: o.nodeID, DataDir: o.dataDir}, log)
	if err != nil {
		return err
	}

	csiServer := grpc.NewServer(grpc.UnaryInterceptor(driver.LogCalls(log)))
	d.Register(csiServer)
	csiListener, err := sockets.Listen(socket, 0o660)
	if err != nil {
		return err
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- csiServer.Serve(csiListener) }()
	log.Info("serving CSI", "driver", driver.Name, "version", version, "endpoint", socket,
		"node", o.nodeID, "datadir", o.dataDir)

	// Registration comes second: kubelet calls the CSI socket as soon as it sees this one.
	var regServer *grpc.Server
	var regSocket string
	if o.registrationDir != "" {
		regServer = grpc.NewServer()
		(&registration.Server{
			DriverName: driver.Name,
			Endpoint:   o.kubeletEndpoint,
			Log:        log,
			Failed: func(reason string) {
				log.Error("kubelet refused the registration; exiting so the container restarts", "error", reason)
				os.Exit(1)
			},
		}).Register(regServer)
		regListener, err := registration.Listen(o.registrationDir, driver.Name)
		if err != nil {
			csiServer.Stop()
			return err
		}
		regSocket = regListener.Addr().String()
		go func() { serveErr <- regServer.Serve(regListener) }()
		log.Info("serving kubelet plugin registration", "socket", regSocket, "endpoint", o.kubeletEndpoint)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case sig := <-signals:
		log.Info("shutting down", "signal", sig.String())
	case err := <-serveErr:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("gRPC server stopped: %w", err)
		}
	}
	// The registration socket goes first, so kubelet stops sending work here.
	if regServer != nil {
		regServer.Stop()
		_ = sockets.Remove(regSocket)
	}
	stopGracefully(csiServer, o.shutdownGraceful)
	_ = sockets.Remove(socket)
	return nil
}

// stopGracefully lets running RPCs (a snapshot being archived) finish, up to grace.
func stopGracefully(s *grpc.Server, grace time.Duration) {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.Stop()
	}
}
