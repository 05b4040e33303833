package mount

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMountPointsUnescapes(t *testing.T) {
	table := strings.Join([]string{
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw",
		`500 22 8:1 /data/v1 /var/lib/kubelet/pods/a\040b/mount rw shared:1 - ext4 /dev/vda rw`,
		`501 22 8:1 /x /tab\011and\134slash rw - ext4 /dev/vda rw`,
		"short line",
	}, "\n")
	got, err := mountPoints(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/", "/var/lib/kubelet/pods/a b/mount", "/tab\tand\\slash"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if unescape(`trailing\04`) != `trailing\04` {
		t.Fatal("a cut-off escape must stay as it is")
	}
}

func TestBindReadOnlyAndUnmount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	base := t.TempDir()
	src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if mounted, err := IsMountPoint(dst); err != nil || mounted {
		t.Fatalf("before: %v %v", mounted, err)
	}
	if err := Bind(src, dst, true); err != nil {
		t.Skipf("cannot mount here: %v", err)
	}
	t.Cleanup(func() { _ = Unmount(dst) })
	if mounted, err := IsMountPoint(dst); err != nil || !mounted {
		t.Fatalf("after bind: %v %v", mounted, err)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "f")); err != nil || string(data) != "x" {
		t.Fatalf("read through the bind: %q %v", data, err)
	}
	err := os.WriteFile(filepath.Join(dst, "new"), nil, 0o644)
	if !errors.Is(err, unix.EROFS) {
		t.Fatalf("write to a read-only bind: %v", err)
	}
	// A second bind on top (a retried publish) is removed too.
	if err := Bind(src, dst, false); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(dst); err != nil {
		t.Fatal(err)
	}
	if mounted, err := IsMountPoint(dst); err != nil || mounted {
		t.Fatalf("after unmount: %v %v", mounted, err)
	}
	if mounted, err := IsMountPoint(filepath.Join(base, "missing")); err != nil || mounted {
		t.Fatalf("missing path: %v %v", mounted, err)
	}
}
