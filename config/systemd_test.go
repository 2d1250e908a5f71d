package config_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// unitDir holds the systemd units shipped with the project.
const unitDir = "../contrib/systemd"

// TestSystemdUnits runs systemd-analyze verify on each unit. The programs
// the units start are not installed on a build machine, so verify sees a
// copy whose ExecStart= program is a stub; everything else is checked as
// shipped, and any warning fails the test.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	units, _ := filepath.Glob(filepath.Join(unitDir, "*.service"))
	if len(units) == 0 {
		t.Fatalf("no units in %s", unitDir)
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	execStart := regexp.MustCompile(`(?m)^(ExecStart=[-+!@:]*)(\S+)`)
	for _, u := range units {
		t.Run(filepath.Base(u), func(t *testing.T) {
			b, err := os.ReadFile(u)
			if err != nil {
				t.Fatal(err)
			}
			if !execStart.Match(b) {
				t.Fatal("no ExecStart=")
			}
			b = execStart.ReplaceAll(b, []byte("${1}"+stub))
			p := filepath.Join(dir, filepath.Base(u))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(analyze, "verify", "--man=no", p).CombinedOutput()
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, out)
			}
		})
	}
}

// TestGofaxdUnit checks the settings gofaxd depends on.
func TestGofaxdUnit(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(unitDir, "gofaxd.service"))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			set[k] = v
		}
	}
	want := map[string]string{
		"Type":             "notify",
		"User":             "uucp",
		"WorkingDirectory": "/var/spool/hylafax",
	}
	for k, v := range want {
		if set[k] != v {
			t.Errorf("%s=%q, want %q", k, set[k], v)
		}
	}
	for _, k := range []string{"After", "Restart"} {
		if set[k] == "" {
			t.Errorf("%s= missing", k)
		}
	}
	for _, unit := range []string{"freeswitch.service", "faxq.service"} {
		if !strings.Contains(set["After"], unit) {
			t.Errorf("not ordered after %s", unit)
		}
	}
	// Settings that set or imply NoNewPrivileges for a non-root User=
	// break faxrcvd's mail (postfix's setgid postdrop).
	for _, k := range []string{"NoNewPrivileges", "PrivateDevices", "ProtectKernelTunables",
		"ProtectKernelModules", "ProtectKernelLogs", "ProtectHostname", "ProtectClock",
		"RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
		"LockPersonality", "MemoryDenyWriteExecute", "SystemCallFilter", "SystemCallArchitectures", "DynamicUser"} {
		if _, ok := set[k]; ok {
			t.Errorf("%s= makes systemd set NoNewPrivileges for User=uucp: faxrcvd could not mail", k)
		}
	}
}
