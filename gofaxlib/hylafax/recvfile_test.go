package hylafax

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// recvSpool makes a spool with a recvq directory.
func recvSpool(t *testing.T) string {
	t.Helper()
	spool := t.TempDir()
	if err := os.Mkdir(filepath.Join(spool, "recvq"), 0o755); err != nil {
		t.Fatal(err)
	}
	return spool
}

// isLocked reports whether another open file description cannot take an
// exclusive flock on path, as hfaxd checks for "being received".
func isLocked(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return false
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatal(err)
	}
	return true
}

// rxfax writes src over the received file the way libtiff does:
// open(O_RDWR|O_CREAT|O_TRUNC) on the existing path.
func rxfax(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCreateRecvFile(t *testing.T) {
	spool := recvSpool(t)
	ctx := context.Background()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	rf, err := CreateRecvFile(ctx, spool, RecvFileConfig{Mode: 0o640, ReceivingMode: 0o666})
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	if rf.Name != "recvq/fax000000001.tif" || !filepath.IsAbs(rf.Path) || rf.Path != filepath.Join(spool, rf.Name) {
		t.Fatalf("Name %q Path %q", rf.Name, rf.Path)
	}
	fi, err := os.Stat(rf.Path)
	if err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o666 {
		t.Fatalf("new file: %v, %v; want empty, mode 0666 whatever the umask", fi, err)
	}
	if !isLocked(t, rf.Path) {
		t.Error("file is not locked while receiving")
	}
	// Numbers come from recvq/seqf; existing files are never overwritten.
	if err := os.WriteFile(filepath.Join(spool, "recvq/fax000000002.tif"), []byte("older fax"), 0o600); err != nil {
		t.Fatal(err)
	}
	rf2, err := CreateRecvFile(ctx, spool, RecvFileConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rf2.Close()
	if rf2.Name != "recvq/fax000000003.tif" {
		t.Errorf("second file %q, want fax000000003.tif (2 exists)", rf2.Name)
	}
	if b, _ := os.ReadFile(filepath.Join(spool, "recvq/fax000000002.tif")); string(b) != "older fax" {
		t.Errorf("existing fax overwritten: %q", b)
	}
	if fi, _ := os.Stat(rf2.Path); fi.Mode().Perm() != DefaultRecvFileMode {
		t.Errorf("default mode %v, want %v", fi.Mode().Perm(), DefaultRecvFileMode)
	}
	if _, err := CreateRecvFile(ctx, filepath.Join(spool, "missing"), RecvFileConfig{}); err == nil {
		t.Error("CreateRecvFile in a spool without recvq succeeded")
	}
}

func TestRecvFileFinish(t *testing.T) {
	fixture, err := os.ReadFile("testdata/tiff/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		content   []byte // nil: rxfax never wrote
		wantPages int
		wantErr   error
		wantKept  bool
	}{
		{"two pages", fixture, 2, nil, true},
		{"nothing written", nil, 0, nil, false},
		{"TIFF header only", []byte("II*\x00\x00\x00\x00\x00"), 0, nil, false},
		{"not a TIFF", []byte("garbage that arrived"), 0, ErrTIFF, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spool := recvSpool(t)
			rf, err := CreateRecvFile(context.Background(), spool, RecvFileConfig{Mode: 0o644, ReceivingMode: 0o660})
			if err != nil {
				t.Fatal(err)
			}
			if tt.content != nil {
				rxfax(t, rf.Path, tt.content)
				if !isLocked(t, rf.Path) {
					t.Fatal("rxfax's truncation dropped the lock")
				}
			}
			pages, err := rf.Finish(testFaxTags)
			if pages != tt.wantPages || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Finish = %d, %v, want %d, %v", pages, err, tt.wantPages, tt.wantErr)
			}
			fi, err := os.Stat(rf.Path)
			if !tt.wantKept {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("file without pages kept: %v", err)
				}
				return
			}
			if err != nil || fi.Mode().Perm() != 0o644 {
				t.Fatalf("kept file: %v, %v, want mode 0644", fi, err)
			}
			if isLocked(t, rf.Path) {
				t.Error("lock still held after Finish")
			}
			if tt.wantPages > 0 {
				p, err := TIFFPages(rf.Path)
				if err != nil || len(p) != tt.wantPages || p[0].FaxRecvParams == 0 || p[0].FaxSubAddress != "42" {
					t.Errorf("tags after Finish: %+v, %v", p, err)
				}
			} else if b, _ := os.ReadFile(rf.Path); string(b) != string(tt.content) {
				t.Errorf("unreadable file changed: %q", b)
			}
			if _, err := rf.Finish(testFaxTags); !errors.Is(err, ErrRecvFileDone) {
				t.Errorf("second Finish: %v, want ErrRecvFileDone", err)
			}
		})
	}
}

func TestRecvFileOwner(t *testing.T) {
	spool := recvSpool(t)
	owner := FileOwner{UID: os.Geteuid(), GID: os.Getegid()}
	if owner.UID == 0 {
		owner = FileOwner{UID: 10, GID: 10} // uucp on Debian; any id works for root
	}
	rf, err := CreateRecvFile(context.Background(), spool, RecvFileConfig{Owner: &owner})
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	fi, err := os.Stat(rf.Path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != owner.UID || int(st.Gid) != owner.GID {
		t.Errorf("owner %d:%d, want %d:%d", st.Uid, st.Gid, owner.UID, owner.GID)
	}
	if os.Geteuid() != 0 {
		other := FileOwner{UID: owner.UID + 1, GID: owner.GID}
		if _, err := CreateRecvFile(context.Background(), spool, RecvFileConfig{Owner: &other}); err == nil {
			t.Error("chown to another user succeeded without privileges")
		}
	}
}

func TestRecvFileClose(t *testing.T) {
	spool := recvSpool(t)
	rf, err := CreateRecvFile(context.Background(), spool, RecvFileConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rf.Close(); err != nil {
		t.Fatal(err)
	}
	if isLocked(t, rf.Path) {
		t.Error("Close kept the lock")
	}
	if _, err := os.Stat(rf.Path); err != nil {
		t.Errorf("Close removed the file: %v", err)
	}
	if err := rf.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := rf.Finish(FaxTags{}); !errors.Is(err, ErrRecvFileDone) {
		t.Errorf("Finish after Close: %v, want ErrRecvFileDone", err)
	}
}

// TestOpenRecvFile: a received file left unfinished can be locked and
// finished later; names that are not received files, missing files and
// files locked by another reception are refused.
func TestOpenRecvFile(t *testing.T) {
	spool := recvSpool(t)
	rf, err := CreateRecvFile(context.Background(), spool, RecvFileConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRecvFile(spool, rf.Name, 0o640); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("OpenRecvFile of a locked file: %v, want EWOULDBLOCK", err)
	}
	fixture, err := os.ReadFile("testdata/tiff/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	rxfax(t, rf.Path, fixture)
	rf.Close()
	again, err := OpenRecvFile(spool, rf.Name, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if !isLocked(t, again.Path) {
		t.Error("reopened file not locked")
	}
	pages, err := again.Finish(testFaxTags)
	if err != nil || pages != 2 {
		t.Fatalf("Finish = %d, %v", pages, err)
	}
	if fi, _ := os.Stat(again.Path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if _, err := OpenRecvFile(spool, "recvq/fax000000099.tif", 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, bad := range []string{"recvq/seqf", "../recvq/fax000000001.tif", "recvq/fax1.tif", "recvq/fax00000000x.tif", "/etc/passwd"} {
		if _, err := OpenRecvFile(spool, bad, 0); !errors.Is(err, ErrRecvFileName) {
			t.Errorf("OpenRecvFile(%q): %v, want ErrRecvFileName", bad, err)
		}
	}
}

// syncRecord is what a recording Syncer saw at one call.
type syncRecord struct {
	op, name string
	header   []byte // the first 8 bytes of the file then
	size     int64
}

// recordingSyncer records each sync and the state of the file at it.
type recordingSyncer struct {
	mu  sync.Mutex
	log []syncRecord
}

func (r *recordingSyncer) note(op string, f *os.File) error {
	hdr := make([]byte, 8)
	f.ReadAt(hdr, 0)
	fi, _ := f.Stat()
	var size int64
	if fi != nil {
		size = fi.Size()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, syncRecord{op, f.Name(), hdr, size})
	return nil
}

func (r *recordingSyncer) Sync(f *os.File) error     { return r.note("fsync", f) }
func (r *recordingSyncer) DataSync(f *os.File) error { return r.note("fdatasync", f) }

// TestCommitRecvFiles: tagged files are made durable in two rounds over
// the whole batch: each file's data, new directories and final mode
// while its header still points to the old directories (fsync), then
// the switched header (fdatasync). So every file is valid, old tags or
// new, whatever part of it a power loss keeps. The locks are released
// after both.
func TestCommitRecvFiles(t *testing.T) {
	fixture, err := os.ReadFile("testdata/tiff/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	files := taggedFiles(t, fixture, 3)
	for _, rf := range files {
		if b, _ := os.ReadFile(rf.Path); !bytes.Equal(b[:8], fixture[:8]) || len(b) <= len(fixture) {
			t.Fatal("Tag switched the header or wrote no tags")
		}
		if !isLocked(t, rf.Path) {
			t.Fatal("Tag released the lock")
		}
	}
	rec := &recordingSyncer{}
	for i, err := range CommitRecvFiles(rec, files) {
		if err != nil {
			t.Errorf("file %d: %v", i, err)
		}
	}
	if len(rec.log) != 2*len(files) {
		t.Fatalf("%d syncs, want %d: %+v", len(rec.log), 2*len(files), rec.log)
	}
	for i, r := range rec.log {
		if want := "fsync"; i >= len(files) {
			want = "fdatasync"
			if r.op != want {
				t.Errorf("sync %d is %s: the second round began before the first ended: %+v", i, r.op, rec.log)
			}
		} else if r.op != want {
			t.Errorf("sync %d is %s: the second round began before the first ended: %+v", i, r.op, rec.log)
		}
	}
	find := func(op, name string) syncRecord {
		for _, r := range rec.log {
			if r.op == op && r.name == name {
				return r
			}
		}
		return syncRecord{}
	}
	for i, rf := range files {
		a, b := find("fsync", rf.Path), find("fdatasync", rf.Path)
		final, _ := os.ReadFile(rf.Path)
		if a.op != "fsync" || a.name != rf.Path || !bytes.Equal(a.header, fixture[:8]) || a.size != int64(len(final)) {
			t.Errorf("file %d, first round: %+v; want fsync with the old header and the new directories written", i, a)
		}
		if b.op != "fdatasync" || b.name != rf.Path || !bytes.Equal(b.header, final[:8]) || bytes.Equal(final[:8], fixture[:8]) {
			t.Errorf("file %d, second round: %+v; want fdatasync with the new header", i, b)
		}
		if isLocked(t, rf.Path) {
			t.Errorf("file %d still locked", i)
		}
		p, err := TIFFPages(rf.Path)
		if err != nil || len(p) != 2 || p[1].FaxSubAddress != "42" {
			t.Errorf("file %d after commit: %+v, %v", i, p, err)
		}
		if fi, _ := os.Stat(rf.Path); fi.Mode().Perm() != 0o644 {
			t.Errorf("file %d mode %v", i, fi.Mode().Perm())
		}
	}
}

// fsRecorder is a FileSystemSyncer that records, at each syncfs, the
// first 8 bytes, size and lock of each of its files; the syncfs calls
// numbered in fail fail.
type fsRecorder struct {
	recordingSyncer
	t     *testing.T
	files []*RecvFile
	fail  map[int]bool
	at    [][]fsState // one per syncfs
}

type fsState struct {
	header []byte
	size   int64
	locked bool
}

func (r *fsRecorder) SyncFS() error {
	var states []fsState
	for _, rf := range r.files {
		b, _ := os.ReadFile(rf.Path)
		states = append(states, fsState{b[:8], int64(len(b)), isLocked(r.t, rf.Path)})
	}
	r.at = append(r.at, states)
	if r.fail[len(r.at)] {
		return errors.New("EIO")
	}
	return nil
}

// taggedFiles returns n received files, tagged and still locked.
func taggedFiles(t *testing.T, fixture []byte, n int) []*RecvFile {
	t.Helper()
	spool := recvSpool(t)
	var files []*RecvFile
	for range n {
		rf, err := CreateRecvFile(context.Background(), spool, RecvFileConfig{Mode: 0o644})
		if err != nil {
			t.Fatal(err)
		}
		rxfax(t, rf.Path, fixture)
		if pages, err := rf.Tag(testFaxTags); pages != 2 || err != nil {
			t.Fatalf("Tag = %d, %v", pages, err)
		}
		files = append(files, rf)
	}
	return files
}

// TestCommitRecvFilesFS: with a syncfs, the two rounds of
// CommitRecvFiles are one syncfs each: at the first every file has its
// new directories but the old header, at the second the new header; both
// while the files are locked, released after. A failed syncfs falls back
// to syncing file by file, and says so. Without files (receptions
// without pages, whose files were removed) one syncfs is enough.
func TestCommitRecvFilesFS(t *testing.T) {
	fixture, err := os.ReadFile("testdata/tiff/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		fail    map[int]bool
		syncfs  int      // syncfs calls
		perFile []string // the per-file syncs of each file, in order
	}{
		{"both rounds", nil, 2, nil},
		{"first fails", map[int]bool{1: true}, 1, []string{"fsync", "fdatasync"}},
		{"second fails", map[int]bool{2: true}, 2, []string{"fdatasync"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := taggedFiles(t, fixture, 3)
			rec := &fsRecorder{t: t, files: files, fail: tc.fail}
			errs, fsErr := CommitRecvFilesFS(rec, files)
			if (fsErr != nil) != (tc.fail != nil) {
				t.Errorf("fsErr = %v", fsErr)
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("file %d: %v", i, err)
				}
			}
			if len(rec.at) != tc.syncfs {
				t.Fatalf("%d syncfs, want %d", len(rec.at), tc.syncfs)
			}
			for i, rf := range files {
				final, _ := os.ReadFile(rf.Path)
				if bytes.Equal(final[:8], fixture[:8]) {
					t.Errorf("file %d: the header was not switched", i)
				}
				first := rec.at[0][i]
				if !bytes.Equal(first.header, fixture[:8]) || first.size != int64(len(final)) || !first.locked {
					t.Errorf("file %d at the first syncfs: %+v; want the old header, the new directories, locked", i, first)
				}
				if tc.syncfs == 2 {
					if second := rec.at[1][i]; !bytes.Equal(second.header, final[:8]) || !second.locked {
						t.Errorf("file %d at the second syncfs: %+v; want the new header, locked", i, second)
					}
				}
				var ops []string
				for _, r := range rec.log {
					if r.name == rf.Path {
						ops = append(ops, r.op)
					}
				}
				if !slices.Equal(ops, tc.perFile) {
					t.Errorf("file %d synced by itself: %q, want %q", i, ops, tc.perFile)
				}
				if isLocked(t, rf.Path) {
					t.Errorf("file %d still locked", i)
				}
			}
		})
	}
	rec := &fsRecorder{t: t}
	if errs, err := CommitRecvFilesFS(rec, nil); len(errs) != 0 || err != nil || len(rec.at) != 1 {
		t.Errorf("no files: %d syncfs, %v, %v; want one", len(rec.at), errs, err)
	}
}

// TestOpenSpoolSyncer: syncfs on a spool's file system works; a spool
// without recvq, or whose log is on another file system than recvq, is
// an error saying so.
func TestOpenSpoolSyncer(t *testing.T) {
	spool := recvSpool(t)
	if err := os.MkdirAll(filepath.Join(spool, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSpoolSyncer(spool)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SyncFS(); err != nil {
		t.Errorf("SyncFS: %v", err)
	}
	if _, err := OpenSpoolSyncer(t.TempDir()); err == nil || !strings.Contains(err.Error(), "recvq") {
		t.Errorf("a spool without recvq: %v", err)
	}
	shm, err := os.MkdirTemp("/dev/shm", "spool-log")
	if err != nil {
		t.Skip("no /dev/shm for a second file system:", err)
	}
	defer os.RemoveAll(shm)
	split := recvSpool(t)
	if err := os.Symlink(shm, filepath.Join(split, "log")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSpoolSyncer(split); err == nil || !strings.Contains(err.Error(), "different file systems") {
		t.Errorf("log on another file system: %v", err)
	}
}
