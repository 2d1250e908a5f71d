package gofaxlib

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestJobFaxID(t *testing.T) {
	a := JobFaxID("00112233445566778899aabbccddeeff", 17)
	if !uuidRe.MatchString(a) {
		t.Fatalf("JobFaxID = %q, not a version 8 UUID", a)
	}
	if b := JobFaxID("00112233445566778899aabbccddeeff", 17); b != a {
		t.Errorf("same job: %q then %q", a, b)
	}
	for name, other := range map[string]string{
		"other job":   JobFaxID("00112233445566778899aabbccddeeff", 18),
		"other spool": JobFaxID("ffeeddccbbaa99887766554433221100", 17),
		"digit shift": JobFaxID("00112233445566778899aabbccddeeff1", 7),
	} {
		if other == a {
			t.Errorf("%s gives the same id %q", name, a)
		}
	}
}

func TestSpoolIDConcurrentFirstUse(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "gofax"), 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 16
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = SpoolID(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("call %d got %q, call 0 %q", i, ids[i], ids[0])
		}
	}
	if again, err := SpoolID(dir); err != nil || again != ids[0] {
		t.Fatalf("later call: %q, %v; want %q", again, err, ids[0])
	}
	left, _ := filepath.Glob(filepath.Join(dir, "gofax", ".spool-id-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestSpoolIDRefusesGarbage(t *testing.T) {
	for name, content := range map[string]string{
		"empty":      "",
		"short":      "abc\n",
		"upper case": "00112233445566778899AABBCCDDEEFF\n",
		"not hex":    "0011223344556677zz99aabbccddeeff\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "gofax"), 0o755)
			if err := os.WriteFile(filepath.Join(dir, SpoolIDFile), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if id, err := SpoolID(dir); !errors.Is(err, ErrSpoolID) {
				t.Fatalf("SpoolID = %q, %v; want ErrSpoolID", id, err)
			}
		})
	}
}
