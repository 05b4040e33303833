package sockets

import "testing"

func TestPath(t *testing.T) {
	for endpoint, want := range map[string]string{
		"unix:///csi/csi.sock": "/csi/csi.sock",
		"unix:/csi/csi.sock":   "/csi/csi.sock",
		"/csi//csi.sock":       "/csi/csi.sock",
	} {
		if got, err := Path(endpoint); err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v", endpoint, got, err)
		}
	}
	for _, bad := range []string{"tcp://localhost:10000", "unix://relative.sock", ""} {
		if got, err := Path(bad); err == nil {
			t.Errorf("Path(%q) = %q, want an error", bad, got)
		}
	}
}
