package receive

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// otherUserChannel is a call whose rxfax writes the received file the
// way FreeSWITCH does when it runs as another user: a separate process
// with that user's ids opens the file gofaxd created (truncating it, as
// libtiff does) and writes the fax.
type otherUserChannel struct {
	*fakeChannel
	cred   *syscall.Credential
	source string // the fax to write
	err    error  // what the writer process said
	out    string
}

func (o *otherUserChannel) Execute(ctx context.Context, app, arg string) error {
	if app == "rxfax" {
		cmd := exec.Command("/bin/sh", "-c", `cat "$2" > "$1"`, "sh", arg, o.source)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred}
		out, err := cmd.CombinedOutput()
		o.err, o.out = err, strings.TrimSpace(string(out))
	}
	return o.fakeChannel.Execute(ctx, app, arg)
}

// TestFreeSWITCHWritesRecvFile: the file gofaxd creates in recvq can be
// written by FreeSWITCH in both supported set-ups: FreeSWITCH running as
// the spool's owner (uucp) with the default modes, and FreeSWITCH running
// as another user in the spool's group with receivingmode 0660. With the
// default mode a user of the group cannot write it (the reason for the
// setting). The finished file has recvfilemode.
func TestFreeSWITCHWritesRecvFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs FreeSWITCH's writer as other users")
	}
	const owner, other = 65534, 65533 // "uucp" and FreeSWITCH's own user
	for _, tc := range []struct {
		name      string
		receiving os.FileMode
		cred      syscall.Credential
		writable  bool
	}{
		{"FreeSWITCH as the spool's owner", 0, syscall.Credential{Uid: owner, Gid: owner}, true},
		{"FreeSWITCH in the spool's group, receivingmode 0660", 0o660,
			syscall.Credential{Uid: other, Gid: other, Groups: []uint32{owner}}, true},
		{"FreeSWITCH in the spool's group, default mode", 0,
			syscall.Credential{Uid: other, Gid: other, Groups: []uint32{owner}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t)
			// The writer must reach recvq: the temp dirs are root's 0700.
			for _, d := range []string{filepath.Dir(h.Spool), h.Spool} {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			fax, err := os.ReadFile("testdata/received-t38-2page.tif")
			if err != nil {
				t.Fatal(err)
			}
			source := filepath.Join(h.Spool, "source.tif")
			if err := os.WriteFile(source, fax, 0o644); err != nil {
				t.Fatal(err)
			}
			h.RecvFileMode = 0o600
			h.ReceivingMode = tc.receiving
			h.Owner = &hylafax.FileOwner{UID: owner, GID: owner}
			h.Dial = func(context.Context) (Control, error) { return goneControl{}, nil }
			cred := tc.cred
			ch := &otherUserChannel{fakeChannel: newFakeChannel(map[string]string{"sip_to_user": "5551236"}),
				cred: &cred, source: source}
			h.Serve(context.Background(), ch)

			file := filepath.Join(h.Spool, "recvq", "fax000000001.tif")
			if tc.writable != (ch.err == nil) {
				t.Fatalf("writer as %d (groups %v): %v %q; want writable %v", tc.cred.Uid, tc.cred.Groups, ch.err, ch.out, tc.writable)
			}
			if !tc.writable {
				if !strings.Contains(ch.out, "Permission denied") {
					t.Errorf("writer output %q, want EACCES", ch.out)
				}
				return
			}
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != 0o600 || st.Uid != owner || st.Gid != owner {
				t.Errorf("finished file %v %d:%d, want 0600 %d:%d", fi.Mode().Perm(), st.Uid, st.Gid, owner, owner)
			}
			if pages, err := hylafax.TIFFPages(file); err != nil || len(pages) != 2 || pages[0].FaxRecvParams == 0 {
				t.Errorf("received file %d pages, %v; want 2 tagged", len(pages), err)
			}
		})
	}
}
