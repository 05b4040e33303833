// Package tree copies a volume's directory tree faithfully, through GNU tar: snapshots are
// tar archives, restores extract them, clones pipe one tar into another. Kept: file types,
// contents, modes (with setuid/setgid/sticky), numeric owners, symlink targets, hard
// links, empty directories, any file name bytes, mtimes and `user.*` xattrs, on the tree's
// root directory too.
package tree

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Tar is the tar binary; GNU tar is required (for --xattrs).
var Tar = "tar"

// Options shared by both directions. POSIX (pax) format is the one that carries xattrs;
// numeric owners keep uid/gid exact whatever the driver's /etc/passwd says.
var common = []string{
	"--format=posix",
	"--xattrs",
	"--xattrs-include=user.*",
	"--numeric-owner",
}

var createArgs = append([]string{"--create", "--file=-", "--sparse"}, common...)

// As root these two are tar's defaults; stated so a non-root run fails loudly instead
// of silently dropping owners or modes.
var extractArgs = append([]string{"--extract", "--file=-", "--same-owner", "--preserve-permissions"}, common...)

// Result describes a finished archive.
type Result struct {
	Bytes int64
	// Warning is tar's message when files changed while being read: the archive is
	// complete but may mix old and new content of those files.
	Warning string
}

// Archive writes the tree under src to the archive file dst (replaced atomically).
func Archive(src, dst string) (Result, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-*")
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	create := createCommand(src)
	create.Stdout = tmp
	stderr := &tail{}
	create.Stderr = stderr
	warning, err := createResult(create.Run(), stderr)
	if err != nil {
		tmp.Close()
		return Result{}, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Result{}, err
	}
	info, err := tmp.Stat()
	if err != nil {
		tmp.Close()
		return Result{}, err
	}
	if err := tmp.Close(); err != nil {
		return Result{}, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Result{}, err
	}
	return Result{Bytes: info.Size(), Warning: warning}, nil
}

// Extract unpacks the archive file src into the existing directory dst.
func Extract(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	extract := extractCommand(dst)
	extract.Stdin = f
	stderr := &tail{}
	extract.Stderr = stderr
	if err := extract.Run(); err != nil {
		return fmt.Errorf("tar extract into %s: %w: %s", dst, err, stderr)
	}
	return nil
}

// Copy clones the tree under src into the existing directory dst, with no archive on disk.
func Copy(src, dst string) (warning string, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	create := createCommand(src)
	create.Stdout = w
	createErr := &tail{}
	create.Stderr = createErr
	extract := extractCommand(dst)
	extract.Stdin = r
	extractErr := &tail{}
	extract.Stderr = extractErr
	if err := extract.Start(); err != nil {
		r.Close()
		w.Close()
		return "", err
	}
	r.Close() // the child holds its own copy
	runErr := create.Run()
	w.Close() // EOF for the extracting tar
	if err := extract.Wait(); err != nil {
		return "", fmt.Errorf("tar extract into %s: %w: %s", dst, err, extractErr)
	}
	return createResult(runErr, createErr)
}

func createCommand(src string) *exec.Cmd {
	// "." rather than "*": the root directory's own owner, mode and xattrs go in too.
	return tarCommand(append(append([]string{"--directory=" + src}, createArgs...), "."))
}

func extractCommand(dst string) *exec.Cmd {
	return tarCommand(append([]string{"--directory=" + dst}, extractArgs...))
}

func tarCommand(args []string) *exec.Cmd {
	cmd := exec.Command(Tar, args...)
	// A fixed locale: file names are stored as raw bytes, never converted.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// createResult maps tar's exit: 1 means "some files changed as we read them", which
// leaves a complete archive, the same thing a crash-consistent snapshot of a live volume
// gives. Anything else is a failure.
func createResult(err error, stderr *tail) (string, error) {
	if err == nil {
		return "", nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return stderr.String(), nil
	}
	return "", fmt.Errorf("tar create: %w: %s", err, stderr)
}

// tail keeps the last few KiB written to it: enough of tar's stderr for an error message.
type tail struct{ buf bytes.Buffer }

const tailMax = 4096

func (t *tail) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if extra := t.buf.Len() - tailMax; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(bytes.TrimSpace(t.buf.Bytes())) }
