package hook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary run faxqChild instead of the tests.
const childEnv = "GOFAX_HOOK_TEST_FAXQ_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(faxqChild(dir))
	}
	os.Exit(m.Run())
}

// idScript records the ids a script runs with: "uid ruid gid rgid groups".
const idScript = `echo "$(id -u) $(id -ru) $(id -g) $(id -rg) $(id -G)"` + "\n"

// spoolOf makes a spool directory owned by the unprivileged user u,
// holding the id-recording script, in a place u can reach (t.TempDir's
// parent is private to root). It needs root.
func spoolOf(t *testing.T, u *user.User) (dir, script string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hook-spool-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	script = filepath.Join(dir, "ids")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+idScript), 0o755); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range []string{dir, script} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, script
}

// spoolUser is HylaFAX's uucp, for the tests that need root.
func spoolUser(t *testing.T) *user.User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (the CI runs the tests as root)")
	}
	u, err := user.Lookup("uucp")
	if err != nil {
		t.Skipf("no uucp user: %v", err)
	}
	return u
}

// wantIDs is what idScript prints when run as u with its groups.
func wantIDs(t *testing.T, u *user.User) string {
	t.Helper()
	id, err := UserIdentity(atou(u.Uid), atou(u.Gid))
	if err != nil {
		t.Fatal(err)
	}
	groups := make([]string, len(id.Groups))
	for i, g := range id.Groups {
		groups[i] = strconv.Itoa(int(g))
	}
	return fmt.Sprintf("%d %d %d %d %s", id.UID, id.UID, id.GID, id.GID, strings.Join(groups, " "))
}

func atou(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// TestRunAsSpoolOwner: a daemon running as root (gofaxd started by hand)
// starts its scripts as the owner of the spool, real and effective ids
// alike, with that user's groups.
func TestRunAsSpoolOwner(t *testing.T) {
	u := spoolUser(t)
	dir, script := spoolOf(t, u)
	res, err := Run(context.Background(), Cmd{Path: script, Dir: dir, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(res.Stdout)), wantIDs(t, u); got != want {
		t.Errorf("script ran as %q (uid ruid gid rgid groups), want %q", got, want)
	}
	// A spool that belongs to root keeps its scripts running as root.
	rootDir := t.TempDir()
	res, err = Run(context.Background(), Cmd{Path: "/bin/sh", Args: []string{"-c", idScript}, Dir: rootDir, Timeout: 10 * time.Second})
	if err != nil || !strings.HasPrefix(string(res.Stdout), "0 0 0 0") {
		t.Errorf("in a root-owned directory: %q, %v", res.Stdout, err)
	}
}

// TestFaxqCredentials puts a child process into the state faxq starts its
// send program in (real uid 0, effective uid uucp; capabilities permitted
// but not effective) and checks that Run refuses to start a script there,
// that Become leaves the state for good and that scripts then run as uucp.
func TestFaxqCredentials(t *testing.T) {
	u := spoolUser(t)
	dir, script := spoolOf(t, u)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, "HOOK_TEST_SCRIPT="+script, "HOOK_TEST_UID="+u.Uid, "HOOK_TEST_GID="+u.Gid)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "mixed: refused\nbecome: ok\nscript: " + wantIDs(t, u) + "\nroot again: refused\n"
	if string(out) != want {
		t.Errorf("child reported\n%s\nwant\n%s", out, want)
	}
}

// faxqChild is the child of TestFaxqCredentials. It reports each step on
// stdout; its exit status is non-zero only when it could not set up.
func faxqChild(dir string) int {
	uid, gid := int(atou(os.Getenv("HOOK_TEST_UID"))), int(atou(os.Getenv("HOOK_TEST_GID")))
	// faxq: setgroups(uucp), then effective ids uucp, real ids root.
	if err := syscall.Setgroups([]int{gid}); err != nil {
		fmt.Println("setup:", err)
		return 1
	}
	if err := syscall.Setresgid(0, gid, gid); err != nil {
		fmt.Println("setup:", err)
		return 1
	}
	if err := syscall.Setresuid(0, uid, uid); err != nil {
		fmt.Println("setup:", err)
		return 1
	}
	c := Cmd{Path: os.Getenv("HOOK_TEST_SCRIPT"), Dir: dir, Timeout: 10 * time.Second}
	if res, err := Run(context.Background(), c); errors.Is(err, ErrPrivileges) {
		fmt.Println("mixed: refused")
	} else {
		fmt.Printf("mixed: ran %q, %v\n", res.Stdout, err)
	}
	id, err := Owner(dir)
	if err == nil {
		err = id.Become()
	}
	if err != nil {
		fmt.Println("become:", err)
	} else {
		fmt.Println("become: ok")
	}
	res, err := Run(context.Background(), c)
	if err != nil {
		fmt.Println("script:", err)
	} else {
		fmt.Printf("script: %s", res.Stdout)
	}
	if err := syscall.Setresuid(-1, 0, -1); err != nil {
		fmt.Println("root again: refused")
	} else {
		fmt.Println("root again: possible")
	}
	return 0
}

func TestUserIdentity(t *testing.T) {
	id, err := UserIdentity(0, 0)
	if err != nil || id.UID != 0 || id.GID != 0 || len(id.Groups) == 0 || id.Groups[0] != 0 {
		t.Errorf("root: %+v, %v", id, err)
	}
	// An id without a user entry keeps the file's group and nothing else.
	id, err = UserIdentity(4000000001, 4000000002)
	if err != nil || id.UID != 4000000001 || id.GID != 4000000002 || len(id.Groups) != 1 || id.Groups[0] != 4000000002 {
		t.Errorf("unknown user: %+v, %v", id, err)
	}
	if _, err := Owner(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
}
