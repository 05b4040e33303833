package tree

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// entry is everything a restore drill compares for one path.
type entry struct {
	Type     string
	Mode     fs.FileMode
	UID, GID uint32
	Size     int64
	SHA256   string
	Link     string
	Xattrs   string
	MTime    int64 // seconds; not for symlinks
	HardLink string
}

func manifest(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		e := entry{Mode: info.Mode(), UID: st.Uid, GID: st.Gid, Xattrs: userXattrs(t, path)}
		switch {
		case info.Mode().IsRegular():
			e.Type, e.Size, e.SHA256 = "file", info.Size(), digest(t, path)
			e.MTime = info.ModTime().Unix()
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					e.HardLink = first
				} else {
					inodes[st.Ino] = rel
				}
			}
		case info.IsDir():
			e.Type, e.MTime = "dir", info.ModTime().Unix()
		case info.Mode()&fs.ModeSymlink != 0:
			e.Type = "symlink"
			e.Link, err = os.Readlink(path)
		case info.Mode()&fs.ModeNamedPipe != 0:
			e.Type, e.MTime = "fifo", info.ModTime().Unix()
		default:
			e.Type = info.Mode().Type().String()
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func digest(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func userXattrs(t *testing.T, path string) string {
	buf := make([]byte, 64*1024)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		t.Fatalf("listxattr %s: %v", path, err)
	}
	var parts []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if !strings.HasPrefix(name, "user.") {
			continue
		}
		val := make([]byte, 64*1024)
		m, err := unix.Lgetxattr(path, name, val)
		if err != nil {
			t.Fatalf("getxattr %s %s: %v", path, name, err)
		}
		parts = append(parts, name+"="+hex.EncodeToString(val[:m]))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// buildTree makes a tree with every kind of thing a drill checks.
func buildTree(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, data []byte, mode fs.FileMode, uid, gid int) {
		t.Helper()
		p := filepath.Join(root, rel)
		must(os.WriteFile(p, data, 0o600))
		must(os.Lchown(p, uid, gid))
		must(os.Chmod(p, mode)) // after chown, which clears setuid bits
	}
	must(os.MkdirAll(filepath.Join(root, "dir/nested/empty"), 0o755))
	must(os.Mkdir(filepath.Join(root, "empty"), 0o700))
	must(os.Mkdir(filepath.Join(root, "sticky"), 0o755))
	must(os.Chmod(filepath.Join(root, "sticky"), 0o1777|fs.ModeSticky))
	must(os.Chown(filepath.Join(root, "dir"), 1001, 1002))
	must(os.Chmod(filepath.Join(root, "dir"), 0o2750|fs.ModeSetgid))

	big := bytes.Repeat([]byte("0123456789abcdef"), 64*1024) // 1 MiB
	write("plain.txt", []byte("hello\n"), 0o644, 0, 0)
	write("dir/big.bin", big, 0o640, 1001, 1002)
	write("zero-length", nil, 0o600, 65534, 65534)
	write("setuid-tool", []byte("#!/bin/sh\n"), 0o755|fs.ModeSetuid, 0, 0)
	write("dir/nested/ünïcödé 文件 🙂.txt", []byte("unicode\n"), 0o664, 1000, 1000)
	write("raw-\xff\xfe-bytes", []byte("latin-1 name\n"), 0o644, 0, 0)
	write("with\nnewline and space", []byte("odd name\n"), 0o644, 0, 0)

	// Hard links: three names, one inode, in different directories.
	must(os.Link(filepath.Join(root, "plain.txt"), filepath.Join(root, "dir/hardlink-1")))
	must(os.Link(filepath.Join(root, "plain.txt"), filepath.Join(root, "dir/nested/hardlink-2")))

	must(os.Symlink("plain.txt", filepath.Join(root, "rel-link")))
	must(os.Symlink("/nonexistent/absolute/target", filepath.Join(root, "dangling-link")))
	must(os.Symlink("../../dir", filepath.Join(root, "dir/nested/dir-link")))
	must(os.Lchown(filepath.Join(root, "rel-link"), 1001, 1002))
	must(unix.Mkfifo(filepath.Join(root, "dir/fifo"), 0o620))

	setX := func(rel, name string, value []byte) {
		t.Helper()
		must(unix.Lsetxattr(filepath.Join(root, rel), name, value, 0))
	}
	setX("plain.txt", "user.checksum", []byte("abc123"))
	setX("dir/big.bin", "user.binary", []byte{0, 1, 2, 255})
	setX("dir/big.bin", "user.empty", nil)
	setX("dir", "user.on-a-dir", []byte("yes"))
	setX(".", "user.on-the-root", []byte("root"))

	must(os.Chown(root, 1000, 1000))
	must(os.Chmod(root, 0o770))

	// Fixed mtimes, last, on the way up: creating entries moves a directory's mtime.
	stamp := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)
	var dirs []string
	must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return os.Chtimes(p, stamp, stamp)
	}))
	for i := len(dirs) - 1; i >= 0; i-- {
		must(os.Chtimes(dirs[i], stamp, stamp))
	}
}

func requireRootAndXattrs(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the tree has files owned by other users")
	}
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(probe, "user.probe", []byte("1"), 0); err != nil {
		t.Skipf("the temp directory's filesystem has no user xattrs: %v", err)
	}
}

func compare(t *testing.T, want, got map[string]entry) {
	t.Helper()
	for path, w := range want {
		g, ok := got[path]
		if !ok {
			t.Errorf("missing %q", path)
			continue
		}
		if g != w {
			t.Errorf("%q differs:\n want %+v\n  got %+v", path, w, g)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("extra %q", path)
		}
	}
}

func TestSnapshotAndRestoreAreFaithful(t *testing.T) {
	requireRootAndXattrs(t)
	base := t.TempDir()
	src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	buildTree(t, src)
	want := manifest(t, src)

	archive := filepath.Join(base, "snap.tar")
	res, err := Archive(src, archive)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes <= 1<<20 || res.Warning != "" {
		t.Fatalf("archive result %+v", res)
	}
	if err := Extract(archive, dst); err != nil {
		t.Fatal(err)
	}
	compare(t, want, manifest(t, dst))
	compare(t, want, manifest(t, src)) // reading left the source alone
}

func TestCopyIsFaithful(t *testing.T) {
	requireRootAndXattrs(t)
	base := t.TempDir()
	src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	buildTree(t, src)
	if _, err := Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	compare(t, manifest(t, src), manifest(t, dst))
}

func TestEmptyTree(t *testing.T) {
	base := t.TempDir()
	src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(base, "empty.tar")
	if _, err := Archive(src, archive); err != nil {
		t.Fatal(err)
	}
	if err := Extract(archive, dst); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dst)
	if err != nil || len(entries) != 0 {
		t.Fatalf("restored empty tree: %v %v", entries, err)
	}
}

func TestFailuresAreReported(t *testing.T) {
	base := t.TempDir()
	if _, err := Archive(filepath.Join(base, "missing"), filepath.Join(base, "a.tar")); err == nil {
		t.Fatal("archiving a missing directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(base, "a.tar")); !os.IsNotExist(err) {
		t.Fatalf("a failed archive left a file behind: %v", err)
	}
	garbage := filepath.Join(base, "garbage.tar")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a tar archive ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Extract(garbage, base)
	if err == nil || !strings.Contains(err.Error(), "tar") {
		t.Fatalf("extracting garbage: %v", err)
	}
	if _, err := Copy(filepath.Join(base, "missing"), base); err == nil {
		t.Fatal("copying a missing directory succeeded")
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	var tl tail
	for i := range 2000 {
		fmt.Fprintf(&tl, "line %d\n", i)
	}
	s := tl.String()
	if len(s) > tailMax || !strings.HasSuffix(s, "line 1999") {
		t.Fatalf("tail: %d bytes, ends %q", len(s), s[len(s)-20:])
	}
}
