// Command runc-wrapper trims an OCI runtime request to what this machine can grant, then
// execs the real runc.
//
// A privileged container asks for every capability runc knows. Where the machine's own
// capability bounding set lacks some (a VM without CAP_SYS_RESOURCE, say), runc fails with
// "unable to apply caps: operation not permitted". The wrapper removes from the bundle's
// config.json (on create/run) and from the --process file (on exec) every capability
// missing from its own bounding set, and, without CAP_SYS_RESOURCE, a negative
// oomScoreAdj (lowering it needs that capability; runc otherwise fails with
// "can't get final child's PID from pipe: EOF").
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const capSysResource = 24

// realRuncCandidates are tried in order when RUNC_WRAPPER_REAL is unset.
var realRuncCandidates = []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc.real"}

var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

func main() {
	real := realRunc()
	if real == "" {
		fmt.Fprintln(os.Stderr, "runc-wrapper: no real runc found (set RUNC_WRAPPER_REAL)")
		os.Exit(127)
	}
	args := os.Args[1:]
	missing := missingCapabilities()
	if len(missing) > 0 {
		if err := trimRequest(args, missing); err != nil {
			fmt.Fprintln(os.Stderr, "runc-wrapper:", err)
			os.Exit(1)
		}
	}
	argv := append([]string{real}, args...)
	if err := syscall.Exec(real, argv, os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "runc-wrapper: exec", real+":", err)
		os.Exit(127)
	}
}

func realRunc() string {
	if path := os.Getenv("RUNC_WRAPPER_REAL"); path != "" {
		return path
	}
	self, _ := os.Executable()
	for _, path := range realRuncCandidates {
		if info, err := os.Stat(path); err == nil && !info.IsDir() && !sameFile(path, self) {
			return path
		}
	}
	return ""
}

func sameFile(a, b string) bool {
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

// missingCapabilities lists the capability names absent from this process's bounding set.
func missingCapabilities() map[string]bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "CapBnd:") {
			continue
		}
		bound, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "CapBnd:")), 16, 64)
		if err != nil {
			return nil
		}
		missing := map[string]bool{}
		for bit, name := range capNames {
			if bound&(1<<uint(bit)) == 0 {
				missing[name] = true
			}
		}
		return missing
	}
	return nil
}

// trimRequest edits the JSON that the runc subcommand in args will read.
func trimRequest(args []string, missing map[string]bool) error {
	command, flags := subcommand(args)
	switch command {
	case "create", "run":
		bundle := flagValue(flags, "bundle", "b")
		if bundle == "" {
			bundle = "."
		}
		return editJSON(filepath.Join(bundle, "config.json"), func(spec map[string]any) {
			if process, ok := spec["process"].(map[string]any); ok {
				trimProcess(process, missing)
			}
		})
	case "exec":
		if file := flagValue(flags, "process", "p"); file != "" {
			return editJSON(file, func(process map[string]any) { trimProcess(process, missing) })
		}
	}
	return nil
}

// subcommand returns the first argument that is not a global flag, and the rest.
func subcommand(args []string) (string, []string) {
	globalWithValue := map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if globalWithValue[arg] {
			i++
			continue
		}
		if strings.HasPrefix(arg, "-") {
			continue
		}
		return arg, args[i+1:]
	}
	return "", nil
}

func flagValue(flags []string, long, short string) string {
	for i, flag := range flags {
		for _, name := range []string{"--" + long, "-" + long, "-" + short} {
			if flag == name && i+1 < len(flags) {
				return flags[i+1]
			}
			if strings.HasPrefix(flag, name+"=") {
				return strings.TrimPrefix(flag, name+"=")
			}
		}
	}
	return ""
}

func trimProcess(process map[string]any, missing map[string]bool) {
	if caps, ok := process["capabilities"].(map[string]any); ok {
		for set, list := range caps {
			names, ok := list.([]any)
			if !ok {
				continue
			}
			kept := make([]any, 0, len(names))
			for _, name := range names {
				if s, ok := name.(string); !ok || !missing[s] {
					kept = append(kept, name)
				}
			}
			caps[set] = kept
		}
	}
	if missing[capNames[capSysResource]] {
		if adj, ok := process["oomScoreAdj"].(float64); ok && adj < 0 {
			delete(process, "oomScoreAdj")
		}
	}
}

func editJSON(path string, edit func(map[string]any)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	edit(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}
